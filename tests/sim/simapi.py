# SPDX-License-Identifier: MIT
"""Genesys Cloud API surface of the simulator: auth, listings, analytics
queries, Notifications channels and WebSocket, faults, stats, truth,
EventBridge sender.  One asyncio event loop, one port.
"""
import asyncio
import base64
import binascii
import datetime as dt
import json
import math
import os
import re
import secrets
import ssl
import struct
import sys
import time
import urllib.parse
import uuid

import simmodel as M
import simactions
import simbots
import simratelimits
import simadherence
import simevents
import simplatform
import simusage
import simmos
import simcampaigns
import simworkitems
import simresolutions
import simspeech
from simproto import (HttpError, Response, read_request, ws_accept_key, ws_frame,
                      ws_read_frame, close_payload, WsProtocolError,
                      OP_TEXT, OP_BIN, OP_CONT, OP_CLOSE, OP_PING, OP_PONG)

J = dict(separators=(",", ":"))


def now_iso_real(t=None):
    t = time.time() if t is None else t
    return M.iso(int(t * 1000))


def oversized(body, size, pad="objects"):
    """A JSON object answer made size bytes long, still valid and with its
    members unchanged: a "pad" member of 9-member objects (the shape of
    issue 49's 14 MB answer; pad "empty": of empty objects, issue 63's
    249,000 in 0.75 MB) and spaces to the byte."""
    body = body.rstrip()
    if not body.endswith(b"}") or len(body) >= size:
        return body
    one = (b"{}" if pad == "empty" else
           b'{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1}')
    head = body[:-1] + (b',"pad":[' if body[:-1].rstrip() != b"{" else b'"pad":[')
    n = max(0, (size - len(head) - 2) // (len(one) + 1))
    out = head + b",".join([one] * n) + b"]}"
    return out[:-1] + b" " * max(0, size - len(out)) + b"}"


class ApiError(Exception):
    def __init__(self, status, code, message, params=None, details=None, headers=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.params = params or {}
        self.details = details or []
        self.headers = headers or []


def error_body(status, code, message, params=None, details=None, corr=None):
    mwp = message
    for k, v in (params or {}).items():
        mwp = mwp.replace(str(v), "{%s}" % k)
    return {"message": message, "code": code, "status": status,
            "messageWithParams": mwp, "messageParams": params or {},
            "contextId": corr or str(uuid.uuid4()), "details": details or [], "errors": []}


# ---------------------------------------------------------------------------
# time parsing

_DUR = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def parse_duration_ms(s):
    m = _DUR.match(s or "")
    if not m or s in ("P", "PT") or s.endswith("T"):
        raise ApiError(400, "bad.request", "Invalid ISO-8601 duration: %s" % s)
    w, d, h, mi, se = (int(x or 0) for x in m.groups())
    return ((((w * 7 + d) * 24 + h) * 60 + mi) * 60 + se) * 1000


def parse_time_ms(s):
    try:
        x = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "invalid.date", "Invalid date: %s" % s)
    if x.tzinfo is None:
        x = x.replace(tzinfo=dt.timezone.utc)
    return int(x.timestamp() * 1000)


def parse_interval(s):
    if not isinstance(s, str) or "/" not in s:
        raise ApiError(400, "bad.request", "interval must be 'start/end' ISO-8601")
    a, b = s.split("/", 1)
    if a.startswith("P"):
        end = parse_time_ms(b)
        start = end - parse_duration_ms(a)
    elif b.startswith("P"):
        start = parse_time_ms(a)
        end = start + parse_duration_ms(b)
    else:
        start, end = parse_time_ms(a), parse_time_ms(b)
    if end <= start:
        raise ApiError(400, "bad.request", "interval end must be after its start")
    return start, end


# ---------------------------------------------------------------------------
# filter grammar of the analytics queries (the SDKs' filter models: type,
# clauses, predicates)

def compile_filter(f, allowed, lenient=()):
    """Return pred(dims: dict) -> bool.  Predicates on a dimension in `lenient`
    that is absent from dims evaluate true."""
    if f is None:
        return lambda d: True
    if not isinstance(f, dict) or f.get("type") not in ("and", "or"):
        raise ApiError(400, "bad.request", "filter.type must be 'and' or 'or'")
    items = []
    for p in f.get("predicates") or []:
        items.append(_compile_pred(p, allowed, lenient))
    for c in f.get("clauses") or []:
        items.append(compile_filter(c, allowed, lenient))
    if not items:
        return lambda d: True
    if f["type"] == "and":
        return lambda d: all(i(d) for i in items)
    return lambda d: any(i(d) for i in items)


def _compile_pred(p, allowed, lenient):
    if not isinstance(p, dict):
        raise ApiError(400, "bad.request", "predicate must be an object")
    ptype = p.get("type", "dimension")
    if ptype != "dimension":
        raise ApiError(400, "bad.request",
                       "predicate type '%s' is not supported by the simulator" % ptype)
    dim = p.get("dimension")
    if dim not in allowed:
        raise ApiError(400, "bad.request", "Invalid dimension '%s' for this query" % dim,
                       params={"dimension": dim})
    op = p.get("operator", "matches")
    val = p.get("value")
    if op == "matches":
        if dim == "mediaType" and isinstance(val, str):
            val = val.lower()
        soft = dim in lenient
        return lambda d: (d[dim] == val) if dim in d else soft
    if op == "exists":
        return lambda d: d.get(dim) is not None
    if op == "notExists":
        return lambda d: d.get(dim) is None
    raise ApiError(400, "bad.request", "Invalid operator '%s'" % op)


def query_body(req):
    """The JSON object of a query and its required metrics list."""
    body = req.json()
    if not isinstance(body, dict):
        raise ApiError(400, "bad.request", "body required")
    metrics = body.get("metrics")
    if not metrics or not isinstance(metrics, list):
        raise ApiError(400, "bad.request", "metrics is required")
    return body, metrics


def expand_set(req):
    """expand as repeated parameters or one comma-separated list."""
    return {x.strip() for v in req.qall("expand") for x in v.split(",") if x.strip()}


def filter_values(f, dim):
    out = []
    if not isinstance(f, dict):
        return out
    for p in f.get("predicates") or []:
        if isinstance(p, dict) and p.get("dimension") == dim and "value" in p:
            out.append(p["value"])
    for c in f.get("clauses") or []:
        out.extend(filter_values(c, dim))
    return out


# ---------------------------------------------------------------------------

class Clock:
    def __init__(self, start_ms, speed):
        self.start_ms = start_ms
        self.speed = speed
        self.r0 = time.monotonic()
        self.paused_at = None
        self.paused_total = 0.0

    def sim_ms(self):
        r = self.paused_at if self.paused_at is not None else time.monotonic()
        return self.start_ms + int((r - self.r0 - self.paused_total) * self.speed * 1000)

    def pause(self):
        if self.paused_at is None:
            self.paused_at = time.monotonic()

    def resume(self):
        if self.paused_at is not None:
            self.paused_total += time.monotonic() - self.paused_at
            self.paused_at = None


class Token:
    __slots__ = ("value", "client", "expires", "revoked", "win_start", "win_count", "issued")


class Channel:
    def __init__(self, cid, token, client, ttl):
        self.id = cid
        self.token = token
        self.client = client
        self.created = time.time()
        self.last_used = self.created
        self.expires = self.created + ttl
        self.topics = {}     # topic -> True
        self.ws = None
        self.alive = True

    def as_json(self, base_ws):
        return {"connectUri": "%s/channels/%s" % (base_ws, self.id), "id": self.id,
                "expires": now_iso_real(self.expires)}


class WsConn:
    def __init__(self, app, reader, writer, channel):
        self.app = app
        self.reader = reader
        self.writer = writer
        self.channel = channel
        self.closed = False
        self.last_hb = time.monotonic()
        self.opened = time.time()
        self.close_timer = None

    def send_frame(self, frame, kind=None):
        """Sends frame; False when the connection is gone (nothing sent: a
        publication counts as served only when it was sent)."""
        if self.closed:
            return False
        tr = self.writer.transport
        if tr.is_closing():
            # The peer went away before our reader saw it: ended here, as
            # every end, so that the socket leaves the open ones.
            self.abort()
            return False
        if tr.get_write_buffer_size() > self.app.opts.ws_max_buffer:
            self.app.stats["ws_slow_consumer_drops"] += 1
            self.abort()
            return False
        self.writer.write(frame)
        st = self.app.stats
        st["ws_messages_sent"] += 1
        st["ws_bytes_sent"] += len(frame)
        c = st.setdefault("by_client", {}).setdefault(
            self.channel.client, {"requests": {}, "requests_total": 0, "ws_messages_sent": 0})
        c["ws_messages_sent"] += 1
        if kind:
            k = st["ws_messages_by_topic"]
            k[kind] = k.get(kind, 0) + 1
        return True

    def send_json(self, obj, kind=None):
        return self.send_frame(ws_frame(OP_TEXT, json.dumps(obj, **J).encode()), kind)

    def close(self, code=1000, reason=""):
        """Close handshake: send the close frame, close the TCP side shortly after."""
        if self.closed:
            return
        try:
            self.writer.write(ws_frame(OP_CLOSE, close_payload(code, reason)))
        except Exception:
            pass
        self.closed = True
        self.app.stats["ws_closes_sent"][str(code)] = \
            self.app.stats["ws_closes_sent"].get(str(code), 0) + 1
        asyncio.get_event_loop().call_later(0.5, self._final_close)
        self._detach()

    def abort(self):
        """Abrupt TCP close, no close frame (the client sees 1006)."""
        self.closed = True
        try:
            self.writer.transport.abort()
        except Exception:
            pass
        self._detach()

    def _final_close(self):
        try:
            self.writer.close()
        except Exception:
            pass

    def _detach(self):
        ch = self.channel
        if ch is not None and ch.ws is self:
            ch.ws = None
        self.app.sockets.discard(self)
        if self.close_timer:
            self.close_timer.cancel()


# ---------------------------------------------------------------------------

class Hub:
    """Topic index and publishing; coalesces queue observation events."""

    def __init__(self, app):
        self.app = app
        self.subs = {}          # topic -> set(Channel)
        self.dirty = {}         # queue idx -> set(media or None)
        self.last_obs = {}
        self.kind_cache = {}
        self.obs_topics = []
        self.agg_dirty = set()  # (queue idx, media) with new window aggregates
        self.last_agg = {}

    def has(self, topic):
        return topic in self.subs

    def topic_spelling(self):
        return self.app.forms["topic_presence_spelling"]

    def topic_kind(self, topic):
        k = self.kind_cache.get(topic)
        if k is None:
            parts = topic.split(".")
            for i, p in enumerate(parts):
                if len(p) >= 32 and "-" in p:
                    parts[i] = "{id}"
            k = self.kind_cache[topic] = ".".join(parts)
        return k

    def publish(self, topic, body):
        """Sends to every connected subscriber; returns how many sockets
        the message went to."""
        chans = self.subs.get(topic)
        if not chans:
            return 0
        if callable(body):
            body = body()
        msg = {"topicName": topic, "version": "2", "eventBody": body,
               "metadata": {"CorrelationId": str(uuid.uuid4())}}
        frame = ws_frame(OP_TEXT, json.dumps(msg, **J).encode())
        kind = self.topic_kind(topic)
        sent = 0
        for ch in chans:
            if ch.ws is not None and ch.ws.send_frame(frame, kind):
                sent += 1
        return sent

    def queue_dirty(self, qi, media):
        if self.obs_topics[qi] in self.subs:
            s = self.dirty.get(qi)
            if s is None:
                self.dirty[qi] = {media}
            else:
                s.add(media)

    def flush_observations(self, force=False):
        if self.app.forms["obs_aggregates"] == "on":
            self.flush_aggregates(force)
        else:
            self.app.model.conv_store.touched.clear()
            self.agg_dirty.clear()
        if not self.dirty:
            return
        now = time.monotonic()
        model = self.app.model
        iv = self.app.obs_interval()
        forms = self.app.forms
        eo = self.app.epoch_offset() if forms["longest_form"] == "epoch" else None
        served = model.summaries
        done = []
        for qi, groups in self.dirty.items():
            if not force and now - self.last_obs.get(qi, -10) < 1.0:
                continue
            done.append(qi)
            self.last_obs[qi] = now
            q = model.queues[qi]
            topic = self.obs_topics[qi]
            for g in groups:
                if g is None:
                    body = {"group": {"queueId": q.id},
                            "data": [{"interval": iv,
                                      "metrics": model.obs_user_metrics(q, None, forms)}]}
                    if self.publish(topic, body):
                        served.agents(qi, model.now)
                else:
                    body = {"group": {"queueId": q.id, "mediaType": g},
                            "data": [{"interval": iv,
                                      "metrics": model.obs_conv_metrics(q, g, None, (), eo)}]}
                    if self.publish(topic, body):
                        served.media(qi, g, model.now)
        for qi in done:
            del self.dirty[qi]

    def flush_aggregates(self, force=False):
        """Aggregate-only messages on the observation topic: the interval
        aggregates of the current 30-minute window of a {queueId, mediaType}
        group, sent when they change, at most once a second per group."""
        store = self.app.model.conv_store
        if store.touched:
            for k in store.touched:
                if self.obs_topics[k[0]] in self.subs:
                    self.agg_dirty.add(k)
            store.touched.clear()
        if not self.agg_dirty:
            return
        now = time.monotonic()
        done = []
        for k in self.agg_dirty:
            if not force and now - self.last_agg.get(k, -10) < 1.0:
                continue
            done.append(k)
            self.last_agg[k] = now
            body = self.aggregate_body(k)
            if body is not None:
                self.publish(self.obs_topics[k[0]], body)
        for k in done:
            self.agg_dirty.discard(k)

    def aggregate_body(self, k):
        model = self.app.model
        md = model.conv_store.window(k, model.now)
        ms = []
        for m in M.WINDOW_METRICS:
            if m in md:
                ms.append({"metric": m, "stats": self.app._fmt_stats(m, md[m])})
        if not ms:
            return None
        return {"group": {"queueId": model.queues[k[0]].id, "mediaType": k[1]},
                "data": [{"interval": self.app.obs_interval(), "metrics": ms}]}

    def republish(self):
        """Queues every group of every subscribed observation topic and sends
        them now (after a change of forms)."""
        n = 0
        for q in self.app.model.queues:
            if self.obs_topics[q.idx] in self.subs:
                for m in [None] + q.media:
                    self.queue_dirty(q.idx, m)
                    n += 1
                    if m is not None and self.app.forms["obs_aggregates"] == "on":
                        self.agg_dirty.add((q.idx, m))
        self.flush_observations(force=True)
        return n

    def attribute_update(self, model, c, changed):
        topic = "v2.detail.events.conversation.%s.attributes" % c.id
        body = None
        if topic in self.subs or self.app.eb is not None:
            body = {"eventTime": model.now, "conversationId": c.id,
                    "participantId": c.cust["id"], "sessionId": c.cust["calls"][0]["id"]
                    if "calls" in c.cust else None,
                    "mediaType": c.media.upper(), "direction": "INBOUND",
                    "attributes": dict(c.attrs),
                    "conversationExternalContactIds": [],
                    "conversationExternalOrganizationIds": [],
                    "communications": [{"mediaType": c.media.upper(),
                                        "id": c.cust[M.MEDIA_ARRAY[c.media]][0]["id"]}]}
        if topic in self.subs:
            self.publish(topic, body)
        if self.app.eb is not None:
            self.app.eb.enqueue(topic, body, model.now)

    def flow_metric_body(self, model, c, f, metric, value, outcome, milestone, extra):
        t = model.now
        if self.app.opts.flow_metrics_shape == "aggregate":
            g = {"flowId": f.id, "mediaType": c.media}
            if outcome is not None:
                g["flowOutcomeId"] = model.outcomes[outcome[0]]["id"]
            if milestone is not None:
                g["flowMilestoneId"] = model.milestones[milestone]["id"]
            st = {"count": 1}
            if metric.startswith("t"):
                st.update({"sum": value, "max": value, "min": value})
            return {"group": g, "data": [{"interval": self.app.obs_interval(),
                                          "metrics": [{"metric": metric, "stats": st}]}]}
        q = model.queues[c.q]
        b = {"metric": metric, "metricDate": M.iso(t), "value": value,
             "recordId": str(uuid.uuid4()), "conversationId": c.id,
             "sessionId": c.ivr["calls"][0]["id"] if c.ivr else None,
             "flowId": f.id, "flowName": f.name, "flowType": f.type, "flowVersion": f.version,
             "mediaType": c.media, "direction": "inbound", "originatingDirection": "inbound",
             "purpose": "ivr", "ani": c.ani, "divisionIds": [f.div["id"]],
             "entryType": "dnis", "entryReason": "tel:+3222000000"}
        if milestone is not None:
            b["flowMilestoneIds"] = [model.milestones[milestone]["id"]]
        if outcome is not None:
            o = model.outcomes[outcome[0]]
            b["outcomes"] = [{"flowOutcome": o["name"], "flowOutcomeId": o["id"],
                              "flowOutcomeValue": "SUCCESS" if outcome[1] else "FAILURE"}]
        if extra:
            b.update(extra)
            if extra.get("transferType") == "ACD":
                b["transferTargetAddress"] = q.id
                b["transferTargetName"] = q.name
                b["queueId"] = q.id
        return b


# ---------------------------------------------------------------------------

class Faults:
    PER_REQUEST = ("token_fail", "rate_limit_storm", "http_5xx", "slow", "stall",
                   "truncated_json", "malformed_json", "oversized_json")

    def __init__(self, app):
        self.app = app
        self.active = []
        self.applied = {}
        self.hb_stopped_until = 0.0

    def add(self, spec):
        if not isinstance(spec, dict):
            raise ApiError(400, "bad.request", "fault must be an object")
        name = spec.get("fault") or spec.get("type")
        app = self.app
        if name in self.PER_REQUEST:
            f = dict(spec)
            f["fault"] = name
            if "seconds" in f:
                f["until"] = time.monotonic() + float(f["seconds"])
            if "count" not in f and "seconds" not in f:
                f["count"] = 1
            self.active.append(f)
            return {"queued": name}
        if name == "set_forms":
            return app.set_forms({k: v for k, v in spec.items() if k not in ("fault", "type")})
        if name == "no_longer_subscribed":
            return app.no_longer_subscribed(spec)
        if name == "subscription_changed":
            return app.no_longer_subscribed(spec, kind="subscription_changed")
        if name == "system_message":
            return app.other_system_message(spec)
        if name == "token_revoked":
            return app.token_revoked(spec)
        if name == "agg_late":  # the share of moments the aggregates show late, now
            app.model.conv_store.late_share = float(spec.get("share", 0))
            return {"agg_late_share": app.model.conv_store.late_share}
        if name == "events_count":  # a count beyond the truth, in the next answers
            app.events_count = {"value": int(spec.get("value", 5000000000000000)),
                                "answers": int(spec.get("answers", 1)),
                                "definition": int(spec.get("definition", 0))}
            return {"events_count": app.events_count}
        if name == "agg_release":  # the late moments still hidden, shown now
            return {"agg_released": app.model.conv_store.release()}
        if name == "clear":
            self.active = []
            self.hb_stopped_until = 0
            return {"cleared": True}
        if name == "revoke_tokens":
            n = 0
            for t in app.tokens.values():
                if not t.revoked:
                    t.revoked = True
                    n += 1
            app.kill_channels(lambda ch: True, code=spec.get("code", 1000),
                              reason="token revoked")
            return {"revoked": n}
        if name in ("drop_sockets", "close_sockets"):
            code = int(spec.get("code", 1006)) if name == "close_sockets" else 1006
            n = 0
            for ws in list(app.sockets):
                if spec.get("channel") and ws.channel and ws.channel.id != spec["channel"]:
                    continue
                n += 1
                if code == 1006:
                    ws.abort()
                else:
                    ws.close(code, spec.get("reason", "simulated close"))
            return {"sockets": n}
        if name == "socket_closing":
            after = float(spec.get("after", 60))
            n = 0
            for ws in list(app.sockets):
                if spec.get("channel") and ws.channel and ws.channel.id != spec["channel"]:
                    continue
                app.system_message(ws, "socket_closing", "WebSocket closing for maintenance",
                                   reason="maintenance")
                ws.close_timer = asyncio.get_event_loop().call_later(
                    after, lambda w=ws: w.close(1001, "server maintenance"))
                n += 1
            return {"sockets": n, "close_after_s": after}
        if name == "stop_heartbeats":
            self.hb_stopped_until = time.monotonic() + float(spec.get("seconds", 120))
            return {"until_s": float(spec.get("seconds", 120))}
        if name == "expire_channels":
            n = app.kill_channels(lambda ch: (not spec.get("channel")
                                              or ch.id == spec["channel"]),
                                  code=int(spec.get("code", 1000)), reason="channel expired",
                                  counter="channels_expired")
            return {"expired": n}
        if name == "oversized_frame":
            size = int(spec.get("bytes", 2 * 1024 * 1024))
            head = '{"topicName":"channel.metadata","eventBody":{"message":"oversized","pad":"'
            tail = '"}}'
            pad = max(0, size - len(head) - len(tail))
            frame = ws_frame(OP_TEXT, (head + "x" * pad + tail).encode())
            n = 0
            for ws in list(app.sockets):
                if spec.get("channel") and ws.channel and ws.channel.id != spec["channel"]:
                    continue
                n += ws.send_frame(frame, "oversized")
            return {"sockets": n, "bytes": size}
        if name == "pause":
            app.pause()
            return {"paused": True}
        if name == "resume":
            app.resume()
            return {"paused": False}
        if name in ("freeze", "thaw"):
            app.sync()
            app.model.frozen = name == "freeze"
            return {"frozen": app.model.frozen}
        if name == "late_data":
            return app.late_data(spec)
        if name == "obs_offset":
            return app.obs_offset(spec)
        if name == "late_mos":
            return app.late_mos(spec)
        if name in ("deny_permission", "allow_permission"):
            perm = spec.get("permission")
            if not isinstance(perm, str) or not perm:
                raise ApiError(400, "bad.request", "permission must be a string")
            if name == "deny_permission":
                app.denied.add(perm)
            else:
                app.denied.discard(perm)
            return {"denied": sorted(app.denied)}
        raise ApiError(400, "bad.request", "unknown fault '%s'" % name)

    def take(self, name, req):
        """Consume one matching per-request fault of this name, if any."""
        now = time.monotonic()
        for f in self.active:
            if f["fault"] != name:
                continue
            if "until" in f and now > f["until"]:
                continue
            if "count" in f and f["count"] <= 0:
                continue
            p = f.get("path")
            if p and not req.path.startswith(p):
                continue
            m = f.get("method")
            if m and m.upper() != req.method:
                continue
            if "count" in f:
                f["count"] -= 1
            self.applied[name] = self.applied.get(name, 0) + 1
            return f
        return None

    def gc(self):
        now = time.monotonic()
        self.active = [f for f in self.active
                       if not (("until" in f and now > f["until"])
                               or ("count" in f and f["count"] <= 0 and "until" not in f))]

    def describe(self):
        now = time.monotonic()
        out = []
        for f in self.active:
            d = {k: v for k, v in f.items() if k != "until"}
            if "until" in f:
                d["remaining_s"] = round(max(0, f["until"] - now), 3)
            out.append(d)
        return {"active": out, "applied": self.applied,
                "heartbeats_stopped_s": round(max(0, self.hb_stopped_until - now), 3)}


# ---------------------------------------------------------------------------

class EventBridge:
    """Posts EventBridge-format events (the envelope an EventBridge API
    destination sends, detail = the notification) to a receiver."""

    def __init__(self, app, cfg):
        self.app = app
        self.url = cfg["url"]
        u = urllib.parse.urlsplit(self.url)
        if u.scheme not in ("http", "https"):
            raise ApiError(400, "bad.request", "url must be http or https")
        self.u = u
        self.secret = cfg.get("secret")
        self.header = cfg.get("header", "X-Genesys-Secret")
        self.dup_every = int(cfg.get("duplicate_every", 0))
        self.cafile = cfg.get("ca")
        self.source = "aws.partner/genesys.com/cloud/%s/gensim" % app.model.org_id
        self.q = asyncio.Queue()
        self.stats = {"url": self.url, "enqueued": 0, "delivered": 0, "failed": 0,
                      "retries": 0, "duplicates_sent": 0, "duplicate_ids": [],
                      "last_status": None, "attribute_events": 0}
        self.n = 0
        self.reader = self.writer = None
        self.task = asyncio.ensure_future(self.run())

    def enqueue(self, topic, body, sim_ms):
        ev = {"version": "0", "id": str(uuid.uuid4()),
              "detail-type": "v2.detail.events.conversation.{id}.attributes",
              "source": self.source, "account": "123456789012",
              "time": M.iso(sim_ms, frac=False), "region": "eu-west-1", "resources": [],
              "detail": {"topicName": topic, "version": "2", "eventBody": body,
                         "metadata": {"CorrelationId": str(uuid.uuid4())},
                         "timestamp": M.iso(sim_ms)}}
        self.n += 1
        self.stats["attribute_events"] += 1
        if self.q.qsize() >= 100000:      # receiver down for long: bound memory
            self.stats["dropped"] = self.stats.get("dropped", 0) + 1
            return
        self.stats["enqueued"] += 1
        self.q.put_nowait((ev, False))
        if self.dup_every and self.n % self.dup_every == 0:
            self.q.put_nowait((ev, True))

    def stop(self):
        self.task.cancel()
        if self.writer:
            self.writer.close()

    async def _post(self, data):
        u = self.u
        if self.writer is None or self.writer.transport.is_closing():
            ctx = None
            if u.scheme == "https":
                ctx = ssl.create_default_context(cafile=self.cafile)
            self.reader, self.writer = await asyncio.wait_for(asyncio.open_connection(
                u.hostname, u.port or (443 if ctx else 80), ssl=ctx), 5)
        hdr = ["POST %s HTTP/1.1" % (u.path or "/"), "Host: %s" % u.netloc,
               "Content-Type: application/json", "Content-Length: %d" % len(data)]
        if self.secret:
            hdr.append("%s: %s" % (self.header, self.secret))
        self.writer.write(("\r\n".join(hdr) + "\r\n\r\n").encode() + data)
        await self.writer.drain()
        line = await asyncio.wait_for(self.reader.readline(), 10)
        if not line:
            raise ConnectionError("eof")
        status = int(line.split()[1])
        clen = 0
        close = False
        while True:
            h = await self.reader.readline()
            if h in (b"\r\n", b""):
                break
            k, _, v = h.decode("latin-1").partition(":")
            if k.strip().lower() == "content-length":
                clen = int(v.strip())
            if k.strip().lower() == "connection" and "close" in v.lower():
                close = True
        if clen:
            await self.reader.readexactly(clen)
        if close:
            self.writer.close()
            self.writer = None
        return status

    async def run(self):
        while True:
            ev, dup = await self.q.get()
            data = json.dumps(ev, **J).encode()
            for attempt in range(4):
                try:
                    st = await self._post(data)
                    self.stats["last_status"] = st
                    if 200 <= st < 300:
                        self.stats["delivered"] += 1
                        if dup:
                            self.stats["duplicates_sent"] += 1
                            if len(self.stats["duplicate_ids"]) < 10000:
                                self.stats["duplicate_ids"].append(ev["id"])
                        break
                except (OSError, asyncio.TimeoutError, ConnectionError, ValueError,
                        asyncio.IncompleteReadError):
                    if self.writer:
                        self.writer.close()
                    self.writer = None
                    self.stats["last_status"] = "connection error"
                self.stats["retries"] += 1
                await asyncio.sleep(0.2 * (attempt + 1))
            else:
                self.stats["failed"] += 1


# ---------------------------------------------------------------------------

ROUTES = [
    ("POST", "/oauth/token", "token", False),
    ("GET", "/api/v2/routing/queues", "list_queues", True),
    ("GET", "/api/v2/routing/queues/{queueId}", "get_queue", True),
    ("GET", "/api/v2/routing/queues/{queueId}/members", "queue_members", True),
    ("GET", "/api/v2/routing/queues/{queueId}/mediatypes/{mediaType}/estimatedwaittime",
     "queue_ewt", True),
    ("GET", "/api/v2/routing/wrapupcodes", "list_wrapups", True),
    ("GET", "/api/v2/users", "list_users", True),
    ("GET", "/api/v2/users/{userId}", "get_user", True),
    ("GET", "/api/v2/flows", "list_flows", True),
    ("GET", "/api/v2/flows/outcomes", "list_outcomes", True),
    ("GET", "/api/v2/flows/milestones", "list_milestones", True),
    ("GET", "/api/v2/presence/definitions", "list_presences", True),
    ("GET", "/api/v2/presencedefinitions", "list_presences_legacy", True),
    ("GET", "/api/v2/authorization/divisions", "list_divisions", True),
    ("GET", "/api/v2/teams", "list_teams", True),
    ("GET", "/api/v2/teams/{teamId}/members", "team_members", True),
    ("POST", "/api/v2/analytics/agents/status/counts", "agent_status_counts", True),
    ("GET", "/api/v2/outbound/campaigns", "list_campaigns", True),
    # the live workitem backlog (README, Workitems; simworkitems.py)
    ("POST", "/api/v2/analytics/taskmanagement/metrics/query", "workitem_metrics", True),
    ("POST", "/api/v2/outbound/campaigns/progress", "campaigns_progress", True),
    ("GET", "/api/v2/outbound/campaigns/{campaignId}/progress", "campaign_progress", True),
    ("GET", "/api/v2/outbound/campaigns/{campaignId}/stats", "campaign_stats", True),
    # real-time adherence (README, "Real-time adherence"; simadherence.py)
    ("GET", "/api/v2/workforcemanagement/managementunits", "list_mgmt_units", True),
    ("GET", "/api/v2/workforcemanagement/managementunits/{managementUnitId}/adherence",
     "mgmt_unit_adherence", True),
    ("POST", "/api/v2/analytics/queues/observations/query", "q_obs", True),
    ("POST", "/api/v2/analytics/routing/activity/query", "routing_activity", True),
    ("POST", "/api/v2/analytics/conversations/aggregates/query", "conv_agg", True),
    ("POST", "/api/v2/analytics/resolutions/aggregates/query", "resolution_agg", True),
    # speech and text analytics (README, Speech and text analytics; simspeech.py)
    ("POST", "/api/v2/analytics/transcripts/aggregates/query", "speech_agg", True),
    # workitem interval aggregates (README, Workitem aggregates; simworkitems.py)
    ("POST", "/api/v2/analytics/taskmanagement/aggregates/query", "workitem_agg", True),
    ("POST", "/api/v2/analytics/users/aggregates/query", "user_agg", True),
    ("POST", "/api/v2/analytics/users/observations/query", "user_obs", True),
    ("POST", "/api/v2/analytics/flows/aggregates/query", "flow_agg", True),
    ("POST", "/api/v2/analytics/flows/observations/query", "flow_obs", True),
    ("GET", "/api/v2/integrations/actions", "list_actions", True),
    ("POST", "/api/v2/analytics/actions/aggregates/query", "action_agg", True),
    # bot aggregates (README, Bots; simbots.py)
    ("POST", "/api/v2/analytics/bots/aggregates/query", "bot_agg", True),
    # rate-limit aggregates (README, Rate-limit aggregates; simratelimits.py)
    ("POST", "/api/v2/analytics/ratelimits/aggregates/query", "ratelimit_agg", True),
    ("GET", "/api/v2/telephony/providers/edges", "list_edges", True),
    ("GET", "/api/v2/telephony/providers/edges/metrics", "edge_metrics", True),
    ("GET", "/api/v2/telephony/providers/edges/trunks", "list_trunks", True),
    ("GET", "/api/v2/telephony/providers/edges/trunks/metrics", "trunk_metrics", True),
    ("GET", "/api/v2/usage/events/definitions", "list_event_definitions", True),
    ("POST", "/api/v2/usage/events/aggregates/query", "usage_events_agg", True),
    ("GET", "/sim/status/api/v2/components.json", "status_page", False),
    ("POST", "/api/v2/usage/query", "usage_query", True),
    ("GET", "/api/v2/usage/query/{executionId}/results", "usage_results", True),
    ("POST", "/api/v2/usage/aggregates/query/jobs", "usage_job", True),
    ("GET", "/api/v2/usage/aggregates/query/jobs/{jobId}", "usage_job_get", True),
    ("GET", "/sim/status/api/v2/summary.json", "status_page", False),
    ("POST", "/api/v2/analytics/conversations/details/query", "conv_details", True),
    ("POST", "/api/v2/notifications/channels", "ch_create", True),
    ("GET", "/api/v2/notifications/channels", "ch_list", True),
    ("HEAD", "/api/v2/notifications/channels/{channelId}", "ch_head", True),
    ("GET", "/api/v2/notifications/channels/{channelId}/subscriptions", "sub_get", True),
    ("POST", "/api/v2/notifications/channels/{channelId}/subscriptions", "sub_add", True),
    ("PUT", "/api/v2/notifications/channels/{channelId}/subscriptions", "sub_put", True),
    ("DELETE", "/api/v2/notifications/channels/{channelId}/subscriptions", "sub_del", True),
    ("GET", "/api/v2/notifications/availabletopics", "topics", True),
    ("GET", "/channels/{channelId}", "ws", False),
    ("GET", "/sim/truth", "sim_truth", False),
    ("GET", "/sim/truth/summaries", "sim_truth_summaries", False),
    ("GET", "/sim/truth/timelines", "sim_truth_timelines", False),
    ("GET", "/sim/truth/actions", "sim_truth_actions", False),
    ("GET", "/sim/truth/bots", "sim_truth_bots", False),
    ("GET", "/sim/truth/flow_exits", "sim_truth_flow_exits", False),
    ("GET", "/sim/truth/ratelimits", "sim_truth_ratelimits", False),
    ("GET", "/sim/truth/platform", "sim_truth_platform", False),
    ("GET", "/sim/truth/events", "sim_truth_events", False),
    ("GET", "/sim/truth/usage", "sim_truth_usage", False),
    ("GET", "/sim/truth/mos", "sim_truth_mos", False),
    ("GET", "/sim/truth/ewt", "sim_truth_ewt", False),
    ("GET", "/sim/truth/agentgroups", "sim_truth_agentgroups", False),
    ("GET", "/sim/truth/campaigns", "sim_truth_campaigns", False),
    ("GET", "/sim/truth/workitems", "sim_truth_workitems", False),
    ("GET", "/sim/truth/campaign_aggregates", "sim_truth_campaign_aggregates", False),
    ("GET", "/sim/truth/resolutions", "sim_truth_resolutions", False),
    ("GET", "/sim/truth/speech", "sim_truth_speech", False),
    ("GET", "/sim/truth/workitem_aggregates", "sim_truth_workitem_aggregates", False),
    ("POST", "/sim/campaigns", "sim_campaigns", False),
    ("POST", "/sim/hold", "sim_hold", False),
    ("GET", "/sim/truth/adherence", "sim_truth_adherence", False),
    ("GET", "/sim/downloads/{downloadId}", "sim_download", False),
    ("POST", "/sim/adherence", "sim_adherence", False),
    ("GET", "/sim/stats", "sim_stats", False),
    ("POST", "/sim/reset_stats", "sim_reset_stats", False),
    ("GET", "/sim/faults", "sim_faults_get", False),
    ("POST", "/sim/faults", "sim_faults", False),
    ("GET", "/sim/eventbridge", "sim_eb_get", False),
    ("POST", "/sim/eventbridge", "sim_eb", False),
    ("DELETE", "/sim/eventbridge", "sim_eb_del", False),
    ("GET", "/sim/info", "sim_info", False),
    ("GET", "/sim/forms", "sim_forms_get", False),
    ("POST", "/sim/forms", "sim_forms", False),
]

# OAuth permission each route needs (README, "Permissions": the SDK
# documentation's "Requires ALL/ANY permissions"); routes absent need none
# listed. Withheld with --deny-permission or the deny_permission fault.
PERMISSIONS = {
    "GET /api/v2/routing/queues": ("routing:queue:view",),
    "GET /api/v2/routing/queues/{queueId}": ("routing:queue:view",),
    "GET /api/v2/routing/queues/{queueId}/members": ("routing:queue:view",),
    # SDK getRoutingQueueMediatypeEstimatedwaittime: "Requires ALL
    # permissions: routing:queue:view" (README, Estimated wait time)
    "GET /api/v2/routing/queues/{queueId}/mediatypes/{mediaType}/estimatedwaittime":
        ("routing:queue:view",),
    "GET /api/v2/routing/wrapupcodes": ("routing:wrapupCode:view",),
    # SDK postAnalyticsAgentsStatusCounts: "Requires ANY permissions:
    # analytics:agentState:view"; getTeams, getTeamMembers: "Requires ANY
    # permissions: groups:team:view" (README, Agent states by team or division)
    "POST /api/v2/analytics/agents/status/counts": ("analytics:agentState:view",),
    "GET /api/v2/teams": ("groups:team:view",),
    "GET /api/v2/teams/{teamId}/members": ("groups:team:view",),
    # SDK getOutboundCampaigns, getOutboundCampaignStats,
    # getOutboundCampaignProgress: "Requires ANY permissions:
    # outbound:campaign:view"; postOutboundCampaignsProgress: UNCONFIRMED,
    # the same taken (README, Outbound campaigns)
    "GET /api/v2/outbound/campaigns": ("outbound:campaign:view",),
    # SDK postAnalyticsTaskmanagementMetricsQuery: "Requires ALL
    # permissions: analytics:taskManagementObservation:view" (README, Workitems)
    "POST /api/v2/analytics/taskmanagement/metrics/query":
        ("analytics:taskManagementObservation:view",),
    "POST /api/v2/outbound/campaigns/progress": ("outbound:campaign:view",),
    "GET /api/v2/outbound/campaigns/{campaignId}/progress": ("outbound:campaign:view",),
    "GET /api/v2/outbound/campaigns/{campaignId}/stats": ("outbound:campaign:view",),
    # getWorkforcemanagementManagementunitAdherence: "wfm:realtimeAdherence:view"
    # (the listing names none: README, "Real-time adherence")
    "GET /api/v2/workforcemanagement/managementunits/{managementUnitId}/adherence":
        ("wfm:realtimeAdherence:view",),
    "GET /api/v2/flows": ("architect:flow:view",),
    "GET /api/v2/flows/outcomes": ("architect:flowOutcome:view",),
    "GET /api/v2/flows/milestones": ("architect:flowMilestone:view",),
    "GET /api/v2/presence/definitions": ("presence:presenceDefinition:view",),
    "POST /api/v2/analytics/queues/observations/query": ("analytics:queueObservation:view",),
    "POST /api/v2/analytics/routing/activity/query": ("analytics:queueObservation:view",),
    "POST /api/v2/analytics/conversations/aggregates/query":
        ("analytics:conversationAggregate:view",),
    # SDK AnalyticsApi.md post_analytics_resolutions_aggregates_query:
    # "Requires ANY permissions: analytics:resolutionAggregate:view"
    "POST /api/v2/analytics/resolutions/aggregates/query":
        ("analytics:resolutionAggregate:view",),
    "POST /api/v2/analytics/users/aggregates/query": ("analytics:userAggregate:view",),
    "POST /api/v2/analytics/users/observations/query": ("analytics:userObservation:view",),
    "POST /api/v2/analytics/flows/aggregates/query": ("analytics:flowAggregate:view",),
    "POST /api/v2/analytics/conversations/details/query": ("analytics:conversationDetail:view",),
    "POST /api/v2/analytics/flows/observations/query": ("analytics:flowObservation:view",),
    # SDK documentation: "Requires ANY permissions: telephony:plugin:all"
    "GET /api/v2/telephony/providers/edges": ("telephony:plugin:all",),
    "GET /api/v2/telephony/providers/edges/metrics": ("telephony:plugin:all",),
    "GET /api/v2/telephony/providers/edges/trunks": ("telephony:plugin:all",),
    "GET /api/v2/telephony/providers/edges/trunks/metrics": ("telephony:plugin:all",),
    # SDK documentation (OperationalEventsApi): "Requires ALL permissions:
    # usage:events:view"
    "GET /api/v2/usage/events/definitions": ("usage:events:view",),
    "POST /api/v2/usage/events/aggregates/query": ("usage:events:view",),
    # SDK documentation (AnalyticsApi, postAnalyticsBotsAggregatesQuery):
    # "Requires ANY permissions: analytics:botAggregate:view" (README, Bots)
    "POST /api/v2/analytics/bots/aggregates/query": ("analytics:botAggregate:view",),
    # SDK documentation (AnalyticsApi, post_analytics_transcripts_aggregates_query):
    # "Requires ANY permissions: analytics:speechAndTextAnalyticsAggregates:view"
    "POST /api/v2/analytics/transcripts/aggregates/query":
        ("analytics:speechAndTextAnalyticsAggregates:view",),
    # SDK documentation (AnalyticsApi, post_analytics_ratelimits_aggregates_query):
    # "Requires ANY permissions: analytics:rateLimitAggregate:view" (README)
    "POST /api/v2/analytics/ratelimits/aggregates/query":
        ("analytics:rateLimitAggregate:view",),
    # SDK documentation (AnalyticsApi, post_analytics_taskmanagement_aggregates_query):
    # "Requires ANY permissions: analytics:taskManagementAggregate:view"
    "POST /api/v2/analytics/taskmanagement/aggregates/query":
        ("analytics:taskManagementAggregate:view",),
}

# Routes that need ANY one of their permissions (the SDK documentation's
# "Requires ANY permissions"; README, Data actions): refused 403
# missing.any.permissions when every one is withheld.
PERMISSIONS_ANY = {
    "GET /api/v2/integrations/actions": ("integrations:action:view", "bridge:actions:view"),
    "POST /api/v2/analytics/actions/aggregates/query": ("integrations:action:view",
                                                        "bridge:actions:view"),
    # SDK documentation: "Requires ANY permissions: oauth:client:view,
    # usage:organization:view" (README, API usage)
    "POST /api/v2/usage/query": ("oauth:client:view", "usage:organization:view"),
    "GET /api/v2/usage/query/{executionId}/results": ("oauth:client:view",
                                                      "usage:organization:view"),
    # the current service: "Requires ANY permissions: usage:organization:view"
    "POST /api/v2/usage/aggregates/query/jobs": ("usage:organization:view",),
    "GET /api/v2/usage/aggregates/query/jobs/{jobId}": ("usage:organization:view",),
}

# The answer forms (gensim options, POST /sim/forms): the first is the default,
# the one the public record supports (README, Evidence from the public record).
# The 400 of the details query past the results it pages through, as the
# Python SDK quotes it (README, Evidence: call quality).
PAGINATION_REFUSED = ("Pagination may not exceed %d results.\n\nTip: When extracting "
                      "large chunks of data (multiple days/weeks), maximize pagination "
                      "performance by querying in smaller intervals.")

# POST /api/v2/analytics/agents/status/counts: the groupBy values and user
# predicate dimensions of the SDK (README, Agent states by team or division:
# python 257.0.0; before it the first six alone and those of 237.0.0, the
# form agent_predicates older); the predicates one request takes
# (UNCONFIRMED: 100, as user queries)
AGENT_COUNTS_GROUP_BY = ("segmentType", "presence", "routingStatus", "isOutOfOffice")
AGENT_COUNTS_DIMENSIONS_OLDER = ("activeQueueId", "assignedSkillId", "assignedLanguageId",
                                 "divisionId", "userId", "managerId", "systemPresence",
                                 "organizationPresenceId", "routingStatus", "isOutOfOffice",
                                 "online")
AGENT_COUNTS_DIMENSIONS = AGENT_COUNTS_DIMENSIONS_OLDER + (
    "inactiveQueueId", "queueId", "teamId", "managementUnitId", "businessUnitId",
    "adherenceState", "adherenceImpact", "scheduledActivityCodeId",
    "scheduledActivityCategory", "actualActivityCategory")
AGENT_COUNTS_MAX_PREDICATES = 100
# POST /api/v2/outbound/campaigns/progress: campaign ids a request
# (UNCONFIRMED: 100, as the listing's largest page)
CAMPAIGN_PROGRESS_MAX_IDS = 100

FORMS = {
    "longest_form": ("epoch", "duration"),
    "presence_qualifier": ("id", "system"),
    "onqueue_form": ("qualified", "total", "both"),
    "presence_spelling": ("display", "enum"),
    "topic_presence_spelling": ("enum", "display"),
    "obs_aggregates": ("on", "off"),
    "action_stats": ("full", "count"),
    "action_group": ("id", "name"),
    "action_errors": ("status", "type"),
    "bot_query": ("sum", "count"),
    "platform_metrics": ("list", "entities"),
    "offline_metrics": ("stale", "absent"),
    "trunk_next_uri": ("drop", "keep"),
    "status_group_link": ("both", "group_id", "components"),
    "unattributed": ("org", "queue"),
    "adherence_answer": ("entities", "download"),
    "adherence_download": ("presigned", "token", "token_elsewhere"),
    "details_sessions": ("internal", "plain"),
    "details_hits": ("approximate", "exact"),
    "details_order_by": ("sorted", "refused", "ignored"),
    "usage_events_zeros": ("omit", "zeros"),
    "definitions_listing": ("entities", "paged"),
    "usage_date": ("present", "absent"),
    "usage_zeros": ("present", "omitted"),
    "usage_status": ("present", "absent"),
    "usage_jobs": ("served", "absent"),
    "usage_legacy": ("served", "gone"),
    "usage_next": ("uri", "cursor"),
    "usage_client_ref": ("full", "id"),
    "ewt_results": ("one", "labelled", "formulas"),
    "campaign_topic": ("sdk", "rest"),
    "campaign_connect_ratio": ("fraction", "above_one"),
    "campaign_progress_counts": ("all", "sparse"),
    "agent_predicates": ("current", "older"),
    "workitem_oldest": ("age", "epoch"),
    "workitem_page": ("full", "short"),
    "workitem_words": ("record", "unknown"),
    "resolution_metric_extra": ("none", "unknown"),
}

# The estimated wait time's path mediaType (SDK
# getRoutingQueueMediatypeEstimatedwaittime) -> the model's media type
# (None: a valid value the model has no conversations of)
EWT_MEDIA = {"all": "all", "call": "voice", "chat": "chat", "callback": "callback",
             "email": "email", "message": "message", "videoComm": None}
# idle requests /sim/truth/ewt lists (the count goes on)
EWT_IDLE_LIST_MAX = 1000

TOPIC_RES = [
    (re.compile(r"^v2\.analytics\.queues\.([^.]+)\.observations$"), "queue"),
    (re.compile(r"^v2\.routing\.queues\.([^.]+)\.conversations"
                r"(\.(calls|chats|emails|messages|callbacks))?$"), "queue"),
    (re.compile(r"^v2\.users\.([^.]+)\.(activity|presence|routingStatus)$"), "user"),
    (re.compile(r"^v2\.analytics\.flow\.([^.]+)\.(metrics|aggregates)$"), "flow"),
    (re.compile(r"^v2\.detail\.events\.conversation\.([^.]+)\.attributes$"), "any"),
    (re.compile(r"^v2\.workforcemanagement\.managementunits\.([^.]+)\.adherence$"), "unit"),
    (re.compile(r"^v2\.outbound\.campaigns\.([^.]+)(\.progress)?$"), "campaign"),
    (re.compile(r"^channel\.metadata$"), None),
]

QUEUE_OBS_METRICS = {"oActiveUsers", "oAlerting", "oInteracting", "oLongestInteracting",
                     "oLongestWaiting", "oMemberUsers", "oOffQueueUsers", "oOnQueueUsers",
                     "oUserPresences", "oUserRoutingStatuses", "oWaiting"}
USER_METRIC_SET = {"oActiveUsers", "oMemberUsers", "oOffQueueUsers", "oOnQueueUsers",
                   "oUserPresences", "oUserRoutingStatuses"}
CONV_DIMS = {"queueId", "mediaType", "direction", "wrapUpCode"}
# the conversation aggregates of the outbound campaigns (README, Campaign
# aggregates): grouped and filtered by campaign, media type, direction
CAMPAIGN_DIMS = {"outboundCampaignId", "mediaType", "direction"}
FLOW_DIMS = {"flowId", "flowName", "flowType", "flowOutcomeId", "flowOutcome",
             "flowMilestoneId", "mediaType", "exitReason", "selfServed"}


# The jobs route's pageSize: "Max is 1000" (README, Evidence: API usage)
USAGE_PAGE_MAX = 1000
# rows a legacy usage answer carries before it is cut (UNCONFIRMED: the
# record says the legacy service lacks pagination, not where it cuts; 20,000
# is the documented limit of its sibling, the usage simple search)
USAGE_LEGACY_LIMIT = 20000
# the job request's keys (OrganizationPublicApiUsageQueryRequest): the
# simulator models interval and granularity; the filters, sortBy, metrics
# and groupBy (whose vocabulary is not in the record) it refuses
USAGE_JOB_KEYS = {"interval", "granularity"}
USAGE_JOB_UNMODELLED = {"sortBy", "metrics", "templateUris", "httpMethods", "platforms",
                        "groupBy", "userIds", "oauthClientIds"}
YEAR_MS = 366 * 86400 * 1000


# rows one /sim/truth/summaries answer may hold (about 300 bytes each; the
# answer is built on the event loop)
SUMMARY_ROWS_MAX = 200000


def new_stats():
    return {"requests": {}, "requests_total": 0, "by_status": {}, "tokens_issued": 0,
            "token_failures": 0, "channels_created": 0, "channels_evicted": 0,
            "channels_expired": 0, "channels_deleted_token": 0, "sockets_total": 0,
            "sockets_replaced": 0, "ws_messages_sent": 0, "ws_bytes_sent": 0,
            "ws_messages_by_topic": {}, "heartbeats_sent": 0, "pongs_sent": 0,
            "ws_json_pings": 0, "ws_control_pings": 0, "ws_messages_received": 0,
            "ws_closes_sent": {}, "ws_slow_consumer_drops": 0, "tcp_connections": 0,
            "rate_limited": 0, "org_rate_limited": 0, "system_messages": {},
            "permission_refusals": 0,
            "ws_upgrades_unknown_channel": 0, "aggregate_intervals": {},
            "started": time.time()}


class App:
    def __init__(self, opts, model, clock, tls_ctx=None, ca_path=None):
        self.opts = opts
        self.model = model
        self.clock = clock
        self.tls_ctx = tls_ctx
        self.ca_path = ca_path
        self.hub = Hub(self)
        self.hub.obs_topics = ["v2.analytics.queues.%s.observations" % q.id
                               for q in model.queues]
        model.hub = self.hub
        self.tokens = {}
        self.org_window = {"start": 0.0, "count": 0}   # --org-route-limit
        self.channels = {}        # id -> Channel
        self.sockets = set()
        self.faults = Faults(self)
        self.denied = set(getattr(opts, "deny_permission", None) or ())
        self.stats = new_stats()
        self.forms = {k: getattr(opts, k, FORMS[k][0]) for k in FORMS}
        self.actions = simactions.Actions(model.seed, getattr(opts, "actions", 4),
                                          model.start_ms)
        self.bots = simbots.Bots(model.seed, getattr(opts, "bots", 6), model.start_ms)
        self.rate_limits = simratelimits.RateLimits(model.seed, model.start_ms)
        self.platform = simplatform.Platform(
            model.seed, getattr(opts, "edges", 3), getattr(opts, "trunks", 4),
            int(getattr(opts, "platform_slot", 60) * 1000),
            cloud_media=getattr(opts, "cloud_media_edges", 2),
            phone_trunks=getattr(opts, "phone_trunks", 3))
        self.platform_page_max = getattr(opts, "platform_page_max", simplatform.PAGE_MAX)
        # obs_offset faults: (queueId, mediaType, metric) -> added to the
        # observations query's count only (no notification says so)
        self.obs_offsets = {}
        self.page_max = getattr(opts, "page_max", 0) or 0   # --page-max: every listing
        self.events = simevents.Events(model.seed, getattr(opts, "event_definitions", 4))
        self.events.late_share = getattr(opts, "events_late_share", 0.0)
        self.events.late_ms = int(getattr(opts, "events_late_s", 2400.0) * 1000)
        self.usage = simusage.Usage(model.seed, getattr(opts, "usage_clients", 4),
                                    builtin=getattr(opts, "usage_builtin", 2),
                                    ready_after_ms=int(getattr(opts, "usage_ready_after", 0)
                                                       * 1000))
        self.usage_pending = getattr(opts, "usage_pending", 1)
        self.usage_page_max = getattr(opts, "usage_page_max", USAGE_PAGE_MAX)
        self.usage_legacy_limit = getattr(opts, "usage_legacy_limit", USAGE_LEGACY_LIMIT)
        self.usage_runs = {}      # executionId -> {"rows", "left"}
        self.usage_jobs = {}      # jobId -> {"rows", "left", "polls"}
        self.usage_last = None    # the last usage query's body
        # /sim/truth/ewt: every estimated wait time answered
        self.ewt = {"answers": {}, "requests": 0, "idle_requests": 0, "idle": [], "log": []}
        # /sim/truth/agentgroups: the agent status counts answered
        self.agent_counts = {"requests": 0}
        # outbound campaigns (README, Outbound campaigns)
        self.campaigns = simcampaigns.Campaigns(
            model.seed, getattr(opts, "campaigns", 4), model.divisions, model.now,
            getattr(opts, "campaign_statuses", None) or simcampaigns.START)
        self.campaigns.form = lambda: self.forms["campaign_topic"]
        self.campaigns.forms = lambda: self.forms
        self.campaigns.hub = self.hub
        self.workitems = simworkitems.Workitems(model.seed, [q.id for q in model.queues])
        self.adherence = simadherence.Adherence(model, getattr(opts, "mgmt_units", 3),
                                                model.seed)
        self.mos = simmos.Mos(model.seed, [q.id for q in model.queues], model.start_ms)
        self.eb = None
        # id(Response) -> what to record once the answer goes out whole
        # (the live gauges a client learns from it: Summaries)
        self.served_hooks = {}
        self.server = None
        self.port = None
        self.routes = []
        for method, pat, name, auth in ROUTES:
            segs = pat.strip("/").split("/")
            self.routes.append((method, segs, "%s %s" % (method, pat), getattr(self, "h_" + name),
                                auth))
        self.tasks = []

    # ---------------------------------------------------------------- utils
    @property
    def base_http(self):
        return "%s://%s:%d" % ("https" if self.tls_ctx else "http", self.opts.public_host,
                               self.port)

    @property
    def base_ws(self):
        return "%s://%s:%d" % ("wss" if self.tls_ctx else "ws", self.opts.public_host, self.port)

    def sync(self):
        self.model.advance_to(self.clock.sim_ms())

    def epoch_offset(self):
        """Real epoch ms minus simulated now: added to a simulated instant it
        gives the wall-clock instant as long ago as that one is in the model."""
        return int(time.time() * 1000) - self.model.now

    def set_forms(self, body):
        """Changes the answer forms (FORMS); "republish": true re-sends every
        subscribed observation group in the new form at once."""
        if not isinstance(body, dict):
            raise ApiError(400, "bad.request", "forms must be an object")
        rep = bool(body.get("republish"))
        new = {}
        for k, v in body.items():
            if k == "republish":
                continue
            if k not in FORMS:
                raise ApiError(400, "bad.request", "unknown form '%s'" % k)
            if v not in FORMS[k]:
                raise ApiError(400, "bad.request", "%s must be one of %s" % (k, "|".join(FORMS[k])))
            new[k] = v
        self.sync()
        self.forms.update(new)
        out = {"forms": dict(self.forms)}
        if rep:
            out["republished_groups"] = self.hub.republish()
        return out

    def system_message(self, ws, kind, message, reason=None, topic=None, data=None):
        """A v2.system.* message (SDK class SystemMessageSystemMessage)."""
        ch = ws.channel
        body = {"channelId": ch.id, "systemTopicType": kind,
                "correlationId": str(uuid.uuid4()), "organizationId": self.model.org_id,
                "oauthClientId": ch.client, "message": message, "data": data or {}}
        if reason:
            body["reason"] = reason
        ws.send_json({"topicName": topic or "v2.system." + kind, "version": "2",
                      "eventBody": body, "metadata": {"CorrelationId": str(uuid.uuid4())}},
                     "v2.system." + kind)
        sm = self.stats["system_messages"]
        sm[kind] = sm.get(kind, 0) + 1

    def no_longer_subscribed(self, spec, kind="no_longer_subscribed"):
        """Drops topics from channels (all of a channel's, `count` of them, or
        those of `topics`), so they are no longer published, and tells the
        connected socket with v2.system.no_longer_subscribed.{channelId};
        kind subscription_changed says it on v2.system.{orgId}.{channelId}
        (the SDK's v2.system.{id}.{id}), systemTopicType
        subscription_changed."""
        want = spec.get("topics")
        if want is not None and not isinstance(want, list):
            raise ApiError(400, "bad.request", "topics must be a list")
        count = spec.get("count")
        out = {"channels": 0, "topics": 0, "messages": 0}
        for ch in list(self.channels.values()):
            if spec.get("channel") and ch.id != spec["channel"]:
                continue
            cur = list(ch.topics)
            if want is not None:
                drop = [t for t in cur if t in set(want)]
            elif count is not None:
                drop = cur[:int(count)]
            else:
                drop = cur
            if not drop:
                continue
            self._drop_topics(ch, drop)
            out["channels"] += 1
            out["topics"] += len(drop)
            if ch.ws is not None:
                topic = ("v2.system.no_longer_subscribed." + ch.id
                         if kind == "no_longer_subscribed"
                         else "v2.system.%s.%s" % (self.model.org_id, ch.id))
                self.system_message(ch.ws, kind,
                                    "Channel is no longer subscribed to %d topic(s)" % len(drop),
                                    reason="another_channel_subscribed",
                                    topic=topic, data={"topics": drop})
                out["messages"] += 1
        return out

    def other_system_message(self, spec):
        """Sends a system message of systemTopicType `kind` (default
        "maintenance_notice", a type no client knows) on
        v2.system.{orgId}.{channelId} to every connected socket (or the one
        of `channel`); nothing else changes."""
        kind = str(spec.get("kind", "maintenance_notice"))
        n = 0
        for ch in list(self.channels.values()):
            if (spec.get("channel") and ch.id != spec["channel"]) or ch.ws is None:
                continue
            self.system_message(ch.ws, kind, "A system message",
                                topic="v2.system.%s.%s" % (self.model.org_id, ch.id))
            n += 1
        return {"messages": n}

    def token_revoked(self, spec):
        """Sends v2.system.token_revoked.{channelId} on the sockets of the
        tokens' channels, then revokes the tokens (all, or the one of
        `channel`), deletes their channels and closes the sockets."""
        if spec.get("channel"):
            ch = self.channels.get(spec["channel"])
            if ch is None:
                raise ApiError(400, "bad.request", "unknown channel")
            toks = {ch.token}
        else:
            toks = {k for k, t in self.tokens.items() if not t.revoked}
        msgs = 0
        for ch in list(self.channels.values()):
            if ch.token in toks and ch.ws is not None:
                self.system_message(ch.ws, "token_revoked", "The token of this channel was revoked",
                                    reason="user_tokens_revoked",
                                    topic="v2.system.token_revoked." + ch.id)
                msgs += 1
        for k in toks:
            t = self.tokens.get(k)
            if t is not None:
                t.revoked = True
        n = self.kill_channels(lambda c: c.token in toks, code=int(spec.get("code", 1000)),
                               reason="token revoked")
        return {"revoked": len(toks), "channels": n, "messages": msgs}

    def _drop_topics(self, ch, drop):
        subs = self.hub.subs
        for t in drop:
            ch.topics.pop(t, None)
            s = subs.get(t)
            if s:
                s.discard(ch)
                if not s:
                    del subs[t]

    def obs_interval(self):
        t = self.model.now
        s = t - t % 1800000
        return M.iso(s) + "/" + M.iso(s + 1800000)

    def pause(self):
        self.sync()
        self.clock.pause()
        self.model.paused = True

    def resume(self):
        self.clock.resume()
        self.model.paused = False

    def match(self, method, path):
        segs = path.strip("/").split("/")
        path_ok = None
        for m, rs, tmpl, fn, auth in self.routes:
            if len(rs) != len(segs):
                continue
            params = {}
            for a, b in zip(rs, segs):
                if a.startswith("{"):
                    if not b:
                        break
                    params[a[1:-1]] = b
                elif a != b:
                    break
            else:
                if m == method:
                    return tmpl, fn, auth, params
                path_ok = tmpl
        return path_ok, None, None, None

    def fault_queue(self, spec):
        """The queue of a fault: queueId, default the first."""
        self.sync()
        qid = spec.get("queueId")
        q = self.model.queue_by_id.get(qid) if qid else self.model.queues[0]
        if q is None:
            raise ApiError(400, "bad.request", "unknown queueId")
        return q

    def late_target(self, spec):
        """The queue (queueId, default the first) and the past instant
        (time, or buckets_ago granularities back) of a late_* fault."""
        q = self.fault_queue(spec)
        model = self.model
        if "time" in spec:
            t = parse_time_ms(spec["time"])
        else:
            g = parse_duration_ms(spec.get("granularity", "PT5M"))
            t = (model.now // g - int(spec.get("buckets_ago", 1))) * g + 1000
        if t >= model.now:
            raise ApiError(400, "bad.request", "late data must be in the past")
        return q, t

    def late_data(self, spec):
        q, t = self.late_target(spec)
        media = spec.get("mediaType", "voice")
        if media not in q.media:
            raise ApiError(400, "bad.request", "queue has no media %s" % media)
        v = int(spec.get("value_ms", 123000))
        self.model.inject_late(q.idx, media, t, v, spec.get("wrapUpCode"))
        return {"queueId": q.id, "mediaType": media, "time": M.iso(t), "tHandle_ms": v}

    def obs_offset(self, spec):
        """The queue's (queueId, default the first) count of metric
        (oWaiting, oInteracting, oAlerting) for mediaType is answered
        `delta` higher by the observations query from now on (0: as it is),
        with no notification: a value Genesys changed behind a subscriber's
        back."""
        q = self.fault_queue(spec)
        media = spec.get("mediaType", "voice")
        metric = spec.get("metric", "oWaiting")
        if media not in q.media or metric not in ("oWaiting", "oInteracting", "oAlerting"):
            raise ApiError(400, "bad.request", "no such media type or count metric")
        delta = int(spec.get("delta", 1))
        key = (q.id, media, metric)
        if delta:
            self.obs_offsets[key] = delta
        else:
            self.obs_offsets.pop(key, None)
        return {"queueId": q.id, "mediaType": media, "metric": metric, "delta": delta}

    def late_mos(self, spec):
        """A call-quality conversation that ended at the fault's instant (a
        closed bucket), with MOS "mos", indexed from now on."""
        q, t = self.late_target(spec)
        mos = float(spec.get("mos", 3.3))
        if not 1.0 <= mos <= 5.0:
            raise ApiError(400, "bad.request", "mos must be from 1 to 5")
        c = self.mos.inject_late(q.idx, t, mos, self.model.now,
                                 transfer=bool(spec.get("transfer", False)))
        return {"queueId": q.id, "queueIds": [self.mos.qids[i] for i in c["queues"]],
                "conversationId": c["id"], "conversationEnd": M.iso(t), "mos": mos}

    def kill_channels(self, pred, code=1000, reason="", counter=None):
        n = 0
        for ch in list(self.channels.values()):
            if pred(ch):
                self.delete_channel(ch, code, reason)
                if counter:
                    self.stats[counter] += 1
                n += 1
        return n

    def delete_channel(self, ch, code=1000, reason=""):
        ch.alive = False
        self.channels.pop(ch.id, None)
        for t in ch.topics:
            s = self.hub.subs.get(t)
            if s:
                s.discard(ch)
                if not s:
                    del self.hub.subs[t]
        ch.topics = {}
        if ch.ws is not None:
            ws = ch.ws
            if code == 1006:
                ws.abort()
            else:
                ws.close(code, reason)

    # ---------------------------------------------------------------- HTTP
    async def handle_http(self, req, reader, writer):
        tmpl, fn, auth, params = self.match(req.method, req.path)
        if req.path.startswith("/sim/"):
            if fn is None:
                return Response(404, {"error": "no such sim endpoint"})
            # The status page stands for another server: it can stall too.
            f = (self.faults.take("stall", req) if req.path.startswith("/sim/status/")
                 else None)
            if f:
                return Response(0, action="stall", arg=float(f.get("seconds", 30)))
            try:
                return await fn(req, params, None)
            except ApiError as e:
                return Response(e.status, error_body(e.status, e.code, e.message, e.params,
                                                     e.details))
            except (ValueError, KeyError, TypeError) as e:
                return Response(400, {"error": str(e)})
        corr = str(uuid.uuid4())
        stat_key = tmpl if fn is not None else "%s (unknown)" % req.method
        resp = await self._api(req, tmpl, fn, auth, params, corr, reader, writer)
        if resp is None:      # websocket took over
            return None
        st = self.stats
        st["requests_total"] += 1
        e = st["requests"].setdefault(stat_key, {"total": 0, "by_status": {}})
        e["total"] += 1
        s = str(resp.status) if resp.action is None else resp.action
        e["by_status"][s] = e["by_status"].get(s, 0) + 1
        st["by_status"][s] = st["by_status"].get(s, 0) + 1
        client = self.client_of(req)
        if client is not None:
            c = st.setdefault("by_client", {}).setdefault(
                client, {"requests": {}, "requests_total": 0, "ws_messages_sent": 0})
            c["requests_total"] += 1
            c["requests"][stat_key] = c["requests"].get(stat_key, 0) + 1
        resp.headers.append(("ININ-Correlation-Id", corr))
        return resp

    async def _api(self, req, tmpl, fn, auth, params, corr, reader, writer):
        faults = self.faults
        hook = None
        f = faults.take("stall", req)
        if f:
            return Response(0, action="stall", arg=float(f.get("seconds", 30)))
        f = faults.take("slow", req)
        if f:
            await asyncio.sleep(float(f.get("delay", 2)))
        if fn is None:
            if tmpl:
                return Response(405, error_body(405, "method.not.allowed",
                                                "Method not allowed", corr=corr))
            return Response(404, error_body(404, "not.found",
                                            "The requested resource was not found: %s" %
                                            req.path, corr=corr))
        if tmpl == "GET /channels/{channelId}":
            return await self.h_ws(req, params, reader, writer)
        try:
            if tmpl == "POST /oauth/token":
                resp = self.h_token(req)
            else:
                f = faults.take("http_5xx", req)
                if f:
                    st = int(f.get("status", 503))
                    code = {500: "internal.server.error", 502: "bad.gateway",
                            503: "service.unavailable", 504: "request.timeout"}.get(st, "error")
                    return Response(st, error_body(st, code, "Simulated %d" % st, corr=corr))
                tok = self.auth(req, corr)
                missing = [p for p in PERMISSIONS.get(tmpl, ()) if p in self.denied]
                anyof = PERMISSIONS_ANY.get(tmpl, ())
                if anyof and all(p in self.denied for p in anyof):
                    self.stats["permission_refusals"] += 1
                    msg = ("Unable to perform the requested action. You must have at least "
                           "one of the following permissions assigned: %s" % ", ".join(anyof))
                    return Response(403, error_body(403, "missing.any.permissions", msg,
                                                    corr=corr))
                if missing:
                    self.stats["permission_refusals"] += 1
                    # The body Genesys answers (gcloudcx errors.go).
                    msg = ("Unable to perform the requested action. You are missing "
                           "the following permission(s): %s" % ", ".join(missing))
                    return Response(403, error_body(403, "missing.permissions", msg,
                                                    corr=corr))
                hdrs = []
                f = faults.take("rate_limit_storm", req)
                if f:
                    ra = int(f.get("retry_after", 3))
                    self.stats["rate_limited"] += 1
                    body = error_body(429, "too.many.requests",
                                      "Rate limit exceeded the maximum. Retry the request in "
                                      "[%d] seconds" % ra, {"seconds": ra}, corr=corr)
                    return Response(429, body, headers=[
                        ("Retry-After", str(ra)), ("inin-ratelimit-count", str(tok.win_count)),
                        ("inin-ratelimit-allowed", str(self.opts.rate_limit)),
                        ("inin-ratelimit-reset", str(ra))])
                hdrs = self.rate(tok, corr)
                self.org_rate(req, hdrs)
                self.sync()
                resp = await fn(req, params, tok)
                resp.headers.extend(hdrs)
                hook = self.served_hooks.pop(id(resp), None)
        except ApiError as e:
            resp = Response(e.status, error_body(e.status, e.code, e.message, e.params,
                                                 e.details, corr), headers=list(e.headers))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            resp = Response(400, error_body(400, "bad.request",
                                            "The request could not be understood: %s" % e,
                                            corr=corr))
        if resp.status == 200 and resp.body and req.method != "HEAD":
            f = faults.take("truncated_json", req)
            if f:
                resp.body = resp.body[:max(1, len(resp.body) // 2)]
            else:
                f = faults.take("malformed_json", req)
                if f:
                    resp.body = b'{"entities":[{"id":,"name":"broken"' + b"\x00}" + b"]" * 3
            if not f:
                f = faults.take("oversized_json", req)
                if f:
                    resp.body = oversized(resp.body, int(f.get("bytes", 14000000)),
                                          f.get("pad", "objects"))
            if not f and hook is not None:
                hook()
        return resp

    def served(self, resp, fn):
        """fn() runs when resp goes out unbroken (no truncated_json or
        malformed_json fault): it records what the answer told the client.
        Nothing awaits between the handler and _api, so the model is still
        as the answer shows it."""
        self.served_hooks[id(resp)] = fn
        return resp

    def client_secrets(self):
        """Every OAuth client: the first and --extra-clients more."""
        o = self.opts
        found = {o.client_id: o.client_secret}
        for k in range(1, getattr(o, "extra_clients", 0) + 1):
            found["%s-%d" % (o.client_id, k)] = "%s-%d" % (o.client_secret, k)
        return found

    def client_of(self, req):
        """The OAuth client a request came from (its bearer token's, or its
        basic credentials'), or None."""
        h = req.header("authorization", "")
        if h.lower().startswith("bearer "):
            t = self.tokens.get(h[7:].strip())
            return t.client if t is not None else None
        if h.lower().startswith("basic "):
            try:
                return base64.b64decode(h[6:].strip()).decode().partition(":")[0]
            except Exception:
                return None
        return None

    def auth(self, req, corr):
        h = req.header("authorization", "")
        if not h.lower().startswith("bearer "):
            raise ApiError(401, "authentication.required",
                           "No authentication bearer token specified in authorization header.")
        t = self.tokens.get(h[7:].strip())
        if t is None or t.revoked or time.time() >= t.expires:
            raise ApiError(401, "bad.credentials", "Invalid login credentials.")
        return t

    def rate_now(self):
        """The rate windows' clock, in seconds, and how many of its seconds
        pass in a real one: real time, or with --rate-window-sim the
        simulated clock (a limit per simulated minute, as a client on the
        simulated clock meets the API's per minute)."""
        if getattr(self.opts, "rate_window_sim", False):
            return self.clock.sim_ms() / 1000.0, self.clock.speed
        return time.monotonic(), 1.0

    def rate(self, tok, corr):
        now, per_real = self.rate_now()
        if now - tok.win_start >= 60:
            tok.win_start = now
            tok.win_count = 0
        tok.win_count += 1
        allowed = self.opts.rate_limit
        # in real seconds: the client waits on its real monotonic clock
        reset = max(1, int(math.ceil((60 - (now - tok.win_start)) / per_real)))
        hdrs = [("inin-ratelimit-count", str(tok.win_count)),
                ("inin-ratelimit-allowed", str(allowed)),
                ("inin-ratelimit-reset", str(reset))]
        if tok.win_count > allowed:
            self.stats["rate_limited"] += 1
            raise ApiError(429, "too.many.requests",
                           "Rate limit exceeded the maximum [%d] requests within [60] seconds"
                           % allowed, {"limit": allowed},
                           headers=hdrs + [("Retry-After", str(reset))])
        return hdrs

    def org_rate(self, req, hdrs):
        """--org-route-limit: one fixed 60-second window shared by every token
        on /api/v2/routing/queues*, the routes of the org-scoped limits
        announced for the assignment service."""
        allowed = self.opts.org_route_limit
        if not allowed or not req.path.startswith("/api/v2/routing/queues"):
            return
        now = time.monotonic()
        w = self.org_window
        if now - w["start"] >= 60:
            w["start"], w["count"] = now, 0
        w["count"] += 1
        if w["count"] > allowed:
            reset = max(1, int(math.ceil(60 - (now - w["start"]))))
            self.stats["org_rate_limited"] = self.stats.get("org_rate_limited", 0) + 1
            self.stats["rate_limited"] += 1
            raise ApiError(429, "too.many.requests",
                           "Rate limit exceeded the maximum [%d] requests within [60] seconds "
                           "for the organization" % allowed, {"limit": allowed},
                           headers=hdrs + [("Retry-After", str(reset))])

    # ---------------------------------------------------------------- oauth
    def h_token(self, req):
        f = self.faults.take("token_fail", req)
        if f:
            st = int(f.get("status", 500))
            self.stats["token_failures"] += 1
            if st == 401:
                return Response(401, {"error": "invalid_client",
                                      "description": "simulated failure",
                                      "error_description": "simulated failure"})
            return Response(st, error_body(st, "internal.server.error",
                                           "Simulated token endpoint failure"))
        cid = sec = None
        h = req.header("authorization", "")
        if h.lower().startswith("basic "):
            try:
                cid, _, sec = base64.b64decode(h[6:].strip()).decode().partition(":")
            except Exception:
                cid = None
        form = urllib.parse.parse_qs(req.body.decode("latin-1"))
        if cid is None and "client_id" in form:
            cid = form["client_id"][0]
            sec = form.get("client_secret", [""])[0]
        if form.get("grant_type", [""])[0] != "client_credentials":
            return Response(400, {"error": "unsupported_grant_type",
                                  "description": "grant_type must be client_credentials",
                                  "error_description": "grant_type must be client_credentials"})
        if cid is None or self.client_secrets().get(cid) != sec:
            self.stats["token_failures"] += 1
            return Response(401, {"error": "invalid_client",
                                  "description": "client authentication failed",
                                  "error_description": "client authentication failed"})
        t = Token()
        t.value = secrets.token_urlsafe(48)
        t.client = cid
        t.issued = time.time()
        t.expires = t.issued + self.opts.token_ttl
        t.revoked = False
        t.win_start = self.rate_now()[0]
        t.win_count = 0
        self.tokens[t.value] = t
        self.stats["tokens_issued"] += 1
        return Response(200, {"access_token": t.value, "token_type": "bearer",
                              "expires_in": int(self.opts.token_ttl)})

    # ---------------------------------------------------------------- listings
    def page(self, req, items, path, conv, max_size=500, link_drop=()):
        """One page of items; link_drop: query parameters the page links
        (firstUri, nextUri, …) leave out."""
        try:
            ps = int(req.q1("pageSize", "25"))
            pn = int(req.q1("pageNumber", "1"))
        except ValueError:
            raise ApiError(400, "bad.request", "pageSize and pageNumber must be integers")
        if ps < 1 or pn < 1:
            raise ApiError(400, "bad.request", "pageSize and pageNumber must be >= 1")
        ps = min(ps, max_size)
        if self.page_max > 0:
            ps = min(ps, self.page_max)
        total = len(items)
        pc = (total + ps - 1) // ps
        ents = [conv(x) for x in items[(pn - 1) * ps: pn * ps]]
        other = [(k, v) for k, vs in req.query.items()
                 if k not in ("pageSize", "pageNumber") and k not in link_drop for v in vs]

        def uri(n):
            return path + "?" + urllib.parse.urlencode(
                [("pageSize", ps), ("pageNumber", n)] + other)
        body = {"entities": ents, "pageSize": ps, "pageNumber": pn, "total": total,
                "pageCount": pc, "firstUri": uri(1), "selfUri": uri(pn),
                "lastUri": uri(max(1, pc))}
        if pn < pc:
            body["nextUri"] = uri(pn + 1)
        if pn > 1:
            body["previousUri"] = uri(pn - 1)
        return Response(200, body)

    @staticmethod
    def name_filter(items, pattern, key=lambda x: x["name"]):
        if not pattern:
            return items
        p = pattern.lower()
        lead, trail = p.startswith("*"), p.endswith("*")
        core = p.strip("*")
        if lead and trail:
            return [x for x in items if core in key(x).lower()]
        if lead:
            return [x for x in items if key(x).lower().endswith(core)]
        if trail:
            return [x for x in items if key(x).lower().startswith(core)]
        return [x for x in items if key(x).lower() == core]

    def queue_json(self, q):
        return {"id": q.id, "name": q.name, "division": {"id": q.div["id"], "name": q.div["name"],
                                                      "selfUri": "/api/v2/authorization/divisions/"
                                                      + q.div["id"]},
                "description": "Simulated queue", "memberCount": len(q.members),
                "joinedMemberCount": sum(1 for a in q.members
                                         if q.idx in self.model.agents[a].joined),
                "mediaSettings": {m: {"serviceLevel": {"percentage": M.SL_TARGET,
                                                       "durationMs": M.MEDIA_PARAMS[m][6] * 1000},
                                      "alertingTimeoutSeconds": M.ALERT_TIMEOUT_MS // 1000}
                                  for m in q.media},
                "selfUri": "/api/v2/routing/queues/" + q.id}

    async def h_list_queues(self, req, p, tok):
        qs = self.model.queues
        ids = req.qall("id")
        if ids:
            s = set(ids)
            qs = [q for q in qs if q.id in s]
        divs = req.qall("divisionId")
        if divs:
            s = set(divs)
            qs = [q for q in qs if q.div["id"] in s]
        qs = self.name_filter(qs, req.q1("name"), key=lambda q: q.name)
        qs = sorted(qs, key=lambda q: q.name.lower(),
                    reverse=req.q1("sortOrder", "asc").lower().startswith("desc"))
        return self.page(req, qs, "/api/v2/routing/queues", self.queue_json)

    async def h_get_queue(self, req, p, tok):
        q = self.model.queue_by_id.get(p["queueId"])
        if q is None:
            raise ApiError(404, "not.found", "Queue not found")
        return Response(200, self.queue_json(q))

    async def h_queue_members(self, req, p, tok):
        q = self.model.queue_by_id.get(p["queueId"])
        if q is None:
            raise ApiError(404, "not.found", "Queue not found")
        agents = [self.model.agents[i] for i in q.members]
        js = req.q1("joined")
        if js is not None:
            want = js.lower() == "true"
            agents = [a for a in agents if (q.idx in a.joined) == want]
        by = req.q1("memberBy")
        if by is not None:
            if by not in ("user", "group"):
                raise ApiError(400, "bad.request", "memberBy must be user or group")
            if by == "group":
                agents = []       # every simulated member is a direct user member
        exp = expand_set(req)

        # QueueMember (SDK model): no presence of its own; expand=presence
        # fills user.presence, expand=routingStatus also the member's.
        def conv(a):
            d = {"id": a.id, "name": a.name, "user": self.user_json(a, exp, short=True),
                 "ringNumber": 1, "joined": q.idx in a.joined, "memberBy": "user",
                 "selfUri": "/api/v2/routing/queues/%s/members/%s" % (q.id, a.id)}
            if "routingStatus" in exp:
                d["routingStatus"] = self.routing_json(a)
            listed.append((a, "routingStatus" in exp, "presence" in exp))
            return d
        listed = []
        resp = self.page(req, agents, "/api/v2/routing/queues/%s/members" % q.id, conv, 100)
        return self.served(resp, lambda: self._listed(listed))

    def routing_json(self, a):
        return {"userId": a.id, "status": M.ROUTING[a.routing], "startTime": M.iso(a.rs_start)}

    def presence_json(self, a):
        """UserPresence; systemPresence spelled per --presence-spelling."""
        sp = M.PRESENCES[a.presence]
        oid = self.model.org_presences[a.opres]["id"]
        return {"presenceDefinition": {"id": oid, "systemPresence": M.PRESENCE_DISPLAY[sp]
                                       if self.forms["presence_spelling"] == "display" else sp,
                                       "selfUri": "/api/v2/presencedefinitions/" + oid},
                "modifiedDate": M.iso(a.pr_start), "source": "PURECLOUD", "primary": True}

    def user_json(self, a, expand=(), short=False):
        if short:     # the user of a QueueMember
            d = {"id": a.id, "name": a.name, "selfUri": "/api/v2/users/" + a.id}
        else:
            d = {"id": a.id, "name": a.name, "division": {"id": a.div["id"],
                                                          "name": a.div["name"]},
                 "email": "agent%05d@example.com" % (a.idx + 1),
                 "state": "deleted" if a.id in self.model.deleted_ids
                 else "inactive" if a.until is not None and a.until <= self.model.now
                 else "active",
                 "username": "agent%05d@example.com" % (a.idx + 1), "version": 1,
                 "acdAutoAnswer": False, "selfUri": "/api/v2/users/" + a.id}
        if "routingStatus" in expand:
            d["routingStatus"] = self.routing_json(a)
        if "presence" in expand:
            d["presence"] = self.presence_json(a)
        return d

    async def h_list_users(self, req, p, tok):
        agents = self.model.users(req.q1("state", "active"))
        ids = req.qall("id")
        if ids:
            s = set(ids)
            agents = [a for a in agents if a.id in s]
        exp = expand_set(req)
        listed = []

        def conv(a):
            if a.until is None:  # a live agent (not a deactivated one)
                listed.append((a, "routingStatus" in exp, "presence" in exp))
            return self.user_json(a, exp)
        resp = self.page(req, agents, "/api/v2/users", conv)
        return self.served(resp, lambda: self._listed(listed, False))

    async def h_get_user(self, req, p, tok):
        a = self.model.agent_by_id.get(p["userId"])
        if a is None and p["userId"] in self.model.former_by_id:
            return Response(200, self.user_json(self.model.former_by_id[p["userId"]]))
        if a is None:
            raise ApiError(404, "not.found", "User not found")
        exp = expand_set(req)
        return self.served(Response(200, self.user_json(a, exp)), lambda: self._listed(
            [(a, "routingStatus" in exp, "presence" in exp)], False))

    def flow_json(self, f):
        return {"id": f.id, "name": f.name, "type": f.type, "division": f.div,
                "description": "Simulated %s flow" % f.type.lower(), "active": True,
                "deleted": False, "system": False,
                "publishedVersion": {"id": f.version, "name": f.version},
                "outcomes": [{"id": self.model.outcomes[i]["id"]} for i in f.outcomes],
                "selfUri": "/api/v2/flows/" + f.id}

    async def h_list_flows(self, req, p, tok):
        fl = self.model.flows
        types = {t.upper() for t in req.qall("type")}
        if types:
            fl = [f for f in fl if f.type in types]
        ids = req.qall("id")
        if ids:
            s = set(ids)
            fl = [f for f in fl if f.id in s]
        fl = self.name_filter(fl, req.q1("name"), key=lambda f: f.name)
        return self.page(req, fl, "/api/v2/flows", self.flow_json)

    def _simple_list(self, req, items, path):
        ids = req.qall("id")
        if ids:
            s = set(ids)
            items = [x for x in items if x["id"] in s]
        items = self.name_filter(items, req.q1("name"))
        return self.page(req, items, path, lambda x: dict(x, selfUri=path + "/" + x["id"]))

    async def h_list_outcomes(self, req, p, tok):
        return self._simple_list(req, self.model.outcomes, "/api/v2/flows/outcomes")

    async def h_list_milestones(self, req, p, tok):
        return self._simple_list(req, self.model.milestones, "/api/v2/flows/milestones")

    async def h_list_wrapups(self, req, p, tok):
        return self._simple_list(req, self.model.wrapups, "/api/v2/routing/wrapupcodes")

    async def h_list_divisions(self, req, p, tok):
        return self._simple_list(req, self.model.divisions, "/api/v2/authorization/divisions")

    def _presences(self, req, param):
        """Org presence definitions; `param` (deactivated or deleted) TRUE
        includes the deactivated ones, ALL (legacy deleted) too."""
        inc = (req.q1(param, "false") or "false").lower() in ("true", "all")
        return [d for d in self.model.org_presences if inc or not d["deactivated"]]

    async def h_list_presences(self, req, p, tok):
        """GET /api/v2/presence/definitions: OrganizationPresenceDefinitionEntityListing,
        not paged; systemPresence in the SDK's enum spelling (OnQueue) or ON_QUEUE."""
        disp = self.forms["presence_spelling"] == "display"
        ents = [{"id": d["id"], "name": d["name"], "type": "System" if d["primary"] else "User",
                 "languageLabels": {"en_US": d["name"]},
                 "systemPresence": M.PRESENCE_DEFN_DISPLAY[d["systemPresence"]] if disp
                 else d["systemPresence"],
                 "divisionId": "*", "deactivated": d["deactivated"],
                 "selfUri": "/api/v2/presence/definitions/" + d["id"]}
                for d in self._presences(req, "deactivated")]
        return Response(200, {"total": len(ents), "entities": ents,
                              "selfUri": "/api/v2/presence/definitions"})

    async def h_list_presences_legacy(self, req, p, tok):
        """GET /api/v2/presencedefinitions: OrganizationPresence, paged."""
        disp = self.forms["presence_spelling"] == "display"

        def conv(d):
            return {"id": d["id"], "name": d["name"], "languageLabels": {"en_US": d["name"]},
                    "systemPresence": M.PRESENCE_DISPLAY[d["systemPresence"]] if disp
                    else d["systemPresence"],
                    "deactivated": d["deactivated"], "primary": d["primary"],
                    "selfUri": "/api/v2/presencedefinitions/" + d["id"]}
        return self.page(req, self._presences(req, "deleted"), "/api/v2/presencedefinitions",
                         conv)

    # ---------------------------------------------------------------- analytics
    def _mappings(self):
        """systemToOrganizationMappings: every org presence id of each system presence."""
        out = {}
        for d in self.model.org_presences:
            out.setdefault(d["systemPresence"], []).append(d["id"])
        return out

    def _queue_ids(self, flt):
        """The queueId predicates of a filter, at most --max-obs-queues."""
        qids = filter_values(flt, "queueId")
        if len(qids) > self.opts.max_obs_queues:
            raise ApiError(400, "bad.request",
                           "A maximum of %d queueId predicates is allowed per query (got %d)"
                           % (self.opts.max_obs_queues, len(qids)),
                           {"max": self.opts.max_obs_queues})
        return qids

    async def h_q_obs(self, req, p, tok):
        body, metrics = query_body(req)
        bad = [m for m in metrics if m not in QUEUE_OBS_METRICS]
        if bad:
            raise ApiError(400, "bad.request", "Invalid metric(s): %s" % ",".join(bad))
        flt = body.get("filter")
        if flt is None:
            raise ApiError(400, "bad.request", "filter is required")
        qids = self._queue_ids(flt)
        pred = compile_filter(flt, {"queueId", "mediaType"}, lenient={"mediaType"})
        detail = set(body.get("detailMetrics") or [])
        model = self.model
        seen = set()
        cands = []
        for x in (qids or [q.id for q in model.queues]):
            q = model.queue_by_id.get(x)
            if q is not None and q.idx not in seen:
                seen.add(q.idx)
                cands.append(q)
        wanted = set(metrics)
        um = wanted & USER_METRIC_SET
        cm = wanted - USER_METRIC_SET
        results = []
        forms = self.forms
        eo = self.epoch_offset() if forms["longest_form"] == "epoch" else None
        answered = []
        for q in cands:
            if um and pred({"queueId": q.id}):
                results.append({"group": {"queueId": q.id},
                                "data": model.obs_user_metrics(q, um, forms)})
                answered.append((q.idx, None))
            if cm:
                for m in q.media:
                    if pred({"queueId": q.id, "mediaType": m}):
                        data = model.obs_conv_metrics(q, m, cm, detail, eo)
                        for d in data:
                            off = self.obs_offsets.get((q.id, m, d["metric"]))
                            if off:
                                d["stats"]["count"] += off
                        results.append({"group": {"mediaType": m, "queueId": q.id},
                                        "data": data})
                        answered.append((q.idx, m))

        def served():
            rec, now = model.summaries, model.now
            for qi, m in answered:
                if m is None:
                    rec.agents(qi, now, um)
                else:
                    rec.media(qi, m, now, cm)
        return self.served(Response(200, {"systemToOrganizationMappings": self._mappings(),
                                          "results": results}), served)

    async def h_routing_activity(self, req, p, tok):
        """RoutingActivityQuery -> RoutingActivityResponse (SDK models): one
        group per queue; with details, entityIds per metric and entities[]."""
        body, metrics = query_body(req)
        wanted = {}
        for m in metrics:
            name = m.get("metric") if isinstance(m, dict) else None
            if name not in USER_METRIC_SET:
                raise ApiError(400, "bad.request", "Invalid metric: %s" % (name,))
            wanted[name] = wanted.get(name, False) or m.get("details") is True
        if body.get("groupBy") != ["queueId"]:
            raise ApiError(400, "bad.request", "groupBy must be [\"queueId\"]")
        flt = body.get("filter")
        qids = self._queue_ids(flt)
        pred = compile_filter(flt, {"queueId"})
        try:
            ps = int(req.q1("pageSize", "25"))
            pn = int(req.q1("pageNumber", "1"))
        except ValueError:
            raise ApiError(400, "bad.request", "pageSize and pageNumber must be integers")
        if not 1 <= ps <= 100 or pn < 1:
            raise ApiError(400, "bad.request", "pageSize must be 1-100 and pageNumber >= 1")
        if self.page_max > 0:
            ps = min(ps, self.page_max)
        model = self.model
        seen, groups = set(), []
        for x in (qids or [q.id for q in model.queues]):
            q = model.queue_by_id.get(x)
            if q is not None and q.idx not in seen and pred({"queueId": q.id}):
                seen.add(q.idx)
                groups.append(q)
        if body.get("order") == "desc":
            groups.reverse()
        listed = []
        resp = Response(200, {"results": [self._activity_group(q, wanted, listed)
                                          for q in groups[(pn - 1) * ps: pn * ps]],
                              "entityIdDimension": "userId"})
        return self.served(resp, lambda: self._listed(listed))

    def _listed(self, listed, listing=True):
        """Records the states a listing or user documents gave."""
        rec, now = self.model.summaries, self.model.now
        for a, routing, presence in listed:
            rec.user(a, now, routing, presence, listing)

    def _activity_group(self, q, wanted, listed=None):
        model, cap = self.model, self.opts.activity_max_entities
        members = sorted((model.agents[i] for i in q.members),
                         key=lambda a: max(a.rs_start, a.pr_start))   # oldest first
        joined = [a for a in members if q.idx in a.joined]
        active = [a for a in joined if a.presence != M.P_OFFLINE]
        truncated = False

        def cut(lst):
            nonlocal truncated
            if len(lst) <= cap:
                return lst
            truncated = True           # first half oldest, second half newest
            return lst[:cap // 2] + lst[len(lst) - (cap - cap // 2):]
        data = []

        def add(name, agents, qual=None):
            if name not in wanted or (qual is not None and not agents):
                return
            d = {"metric": name, "count": len(agents)}
            if qual is not None:
                d["qualifier"] = qual
            if wanted[name]:
                d["entityIds"] = [a.id for a in cut(agents)]
                # a state named by entityIds (plugins/realtime/gen_members.c reads them)
                if listed is not None and qual is not None and name != "oOnQueueUsers":
                    r = name == "oUserRoutingStatuses"
                    listed.extend((a, r, not r) for a in cut(agents))
            data.append(d)
        add("oMemberUsers", members)
        add("oActiveUsers", active)
        add("oOnQueueUsers", [a for a in active if a.routing != M.R_OFF])
        add("oOffQueueUsers", [a for a in active if a.routing == M.R_OFF])
        for i, r in enumerate(M.ROUTING):
            add("oUserRoutingStatuses", [a for a in active if a.routing == i], r)
        # qualified like the observations: org presence ids (each agent's
        # own org presence) or system names, per the form
        if self.forms["presence_qualifier"] == "system":
            for i, pr in enumerate(M.PRESENCES):
                add("oUserPresences", [a for a in joined if a.presence == i], pr)
        else:
            for i, d in enumerate(model.org_presences):
                add("oUserPresences", [a for a in joined if a.opres == i], d["id"])
        out = {"group": {"queueId": q.id}, "data": data}
        if any(wanted.values()):
            out["entities"] = [
                {"activityDate": M.iso(max(a.rs_start, a.pr_start)), "userId": a.id,
                 "queueId": q.id, "routingStatus": M.ROUTING[a.routing],
                 "routingStatusDate": M.iso(a.rs_start),
                 "systemPresence": M.PRESENCES[a.presence],
                 "organizationPresenceId": model.org_presences[a.opres]["id"],
                 "presenceDate": M.iso(a.pr_start),
                 "queueMembershipStatus": "active" if q.idx in a.joined else "inactive"}
                for a in cut(members)]
            out["truncated"] = truncated
        return out

    def _agg_common(self, body, allowed_dims, kind):
        if not isinstance(body, dict):
            raise ApiError(400, "bad.request", "body required")
        if "interval" not in body:
            raise ApiError(400, "bad.request", "interval is required")
        start, end = parse_interval(body["interval"])
        g = body.get("granularity")
        gran = parse_duration_ms(g) if g else end - start
        if gran < 60000:
            raise ApiError(400, "bad.request", "granularity must be at least PT1M")
        nb = -(-(end - start) // gran)
        if nb > 10000:
            raise ApiError(400, "bad.request", "too many buckets (%d) for this interval" % nb)
        metrics = body.get("metrics")
        if not metrics or not isinstance(metrics, list):
            raise ApiError(400, "bad.request", "metrics is required")
        gb = body.get("groupBy") or []
        for d in gb:
            if d not in allowed_dims:
                raise ApiError(400, "bad.request",
                               "groupBy '%s' is not supported by the simulator" % d)
        tz = body.get("timeZone")
        if tz not in (None, "UTC", "Etc/UTC", "GMT", "Z"):
            raise ApiError(400, "bad.request", "the simulator supports timeZone UTC only")
        # The intervals asked, in order, so a test can tell what each
        # request was for without racing the plugin's next one.
        asked = self.stats["aggregate_intervals"].setdefault(kind, [])
        if len(asked) < 10000:
            asked.append([start, end])
        return start, end, gran, metrics, gb

    def _fmt_stats(self, metric, s):
        return M.fmt_stats(metric, s)

    async def _store_query(self, store, start, end, gran, keyfn, metrics, *more):
        """The stats of store (and of the stores in more, added up)."""
        out = {}
        if end > start:
            n = 0
            for st in (store,) + more:
                for _ in st.query_iter(out, start, end, gran, keyfn, metrics):
                    n += 1
                    if n % 2 == 0:
                        await asyncio.sleep(0)
        return out

    async def _agg_results(self, res, start, end, gran, metrics):
        groups = {}
        n = 0
        ivs = {}
        fmt = self._fmt_stats
        for (b, g), md in res.items():
            bs = start + b * gran
            if bs >= end:
                continue
            iv = ivs.get(b)
            if iv is None:
                iv = ivs[b] = M.iso(bs) + "/" + M.iso(min(end, bs + gran))
            ms = []
            for m in metrics:
                if m in md:
                    st = fmt(m, md[m])
                    if st is not None:
                        ms.append({"metric": m, "stats": st})
            if ms:
                groups.setdefault(g, []).append((bs, {"interval": iv, "metrics": ms}))
            n += 1
            if n % 2000 == 0:
                await asyncio.sleep(0)
        out = []
        for i, g in enumerate(sorted(groups)):
            out.append({"group": dict(g), "data": [d for _, d in sorted(groups[g],
                                                                        key=lambda x: x[0])]})
            if i % 2000 == 1999:
                await asyncio.sleep(0)
        return out

    def _campaign_agg(self, body, start, end, gran, metrics):
        """The conversation aggregates of the outbound campaigns (README,
        Campaign aggregates): a group per campaign with attempts in a
        bucket (so far: up to the simulated now), {outboundCampaignId,
        mediaType voice}, its non-zero counts."""
        pred = compile_filter(body.get("filter"), CAMPAIGN_DIMS)
        cs = self._campaigns_now()
        cs.requests["aggregates"] = cs.requests.get("aggregates", 0) + 1
        now = min(end, self.model.now)
        names = {"nOutboundAttempted": 0, "nOutboundConnected": 1, "nOutboundAbandoned": 2}
        out = []
        for c in cs.items:
            if not pred({"outboundCampaignId": c["id"], "mediaType": "voice",
                         "direction": "outbound"}):
                continue
            data = []
            # a bucket not over (or past a pause) has what happened so far,
            # as the queues' answers
            for bs in range(start, now, gran):
                counts = cs.interval_counts(c, bs, min(bs + gran, now))
                if counts[0] == 0:
                    continue
                ms = [{"metric": m, "stats": {"count": counts[names[m]]}}
                      for m in metrics if m in names and counts[names[m]] > 0]
                if ms:
                    data.append({"interval": M.iso(bs) + "/" + M.iso(bs + gran),
                                 "metrics": ms})
            if data:
                out.append({"group": {"outboundCampaignId": c["id"], "mediaType": "voice"},
                            "data": data})
        return Response(200, {"results": out})

    async def h_conv_agg(self, req, p, tok):
        body = req.json()
        if "outboundCampaignId" in (body.get("groupBy") or []) or \
                filter_values(body.get("filter"), "outboundCampaignId"):
            start, end, gran, metrics, gb = self._agg_common(body, CAMPAIGN_DIMS,
                                                             "campaigns")
            return self._campaign_agg(body, start, end, gran, metrics)
        start, end, gran, metrics, gb = self._agg_common(body, CONV_DIMS, "conversations")
        pred = compile_filter(body.get("filter"), CONV_DIMS)
        model = self.model
        gset = set(gb) | {"mediaType"}
        qs, wr = model.queues, {w["id"]: w for w in model.wrapups}

        def keyfn(k):
            qi, m, w = k
            d = {"mediaType": m, "direction": "inbound"}
            if qi is not None:  # None: a metric attributed to no queue
                d["queueId"] = qs[qi].id
            if w is not None:
                d["wrapUpCode"] = w
            if not pred(d):
                return None
            return tuple(sorted((x, d[x]) for x in gset if x in d))
        model.synth_store.unattributed = self.forms["unattributed"] == "org"
        model.conv_store.flush(model.now)
        if model.conv_store.pending:
            # --agg-late-share: moments of the interval asked not yet visible
            self.stats["agg_late_hidden"] = self.stats.get("agg_late_hidden", 0) + \
                model.conv_store.hidden(start, min(end, model.now), keyfn)
        res = await self._store_query(model.conv_store, start, min(end, model.now), gran,
                                      keyfn, metrics, model.synth_store)
        return Response(200, {"results": await self._agg_results(res, start, end, gran,
                                                                 metrics)})

    async def h_flow_agg(self, req, p, tok):
        body = req.json()
        start, end, gran, metrics, gb = self._agg_common(body, FLOW_DIMS, "flows")
        pred = compile_filter(body.get("filter"), FLOW_DIMS)
        model = self.model
        gset = set(gb)
        # A metric lands in the groups its record's dimensions name: a
        # milestone record carries the outcome its milestone is associated
        # with (with-outcome, README Evidence: flow aggregates), an outcome
        # record no milestone, the flow's own metrics neither.
        with_outcome = getattr(self.opts, "milestone_grouping", "with-outcome") == \
            "with-outcome"

        def keyfn(k):
            fi, oi, mi = k[:3]
            f = model.flows[fi]
            d = {"flowId": f.id, "flowName": f.name, "flowType": f.type, "mediaType": "voice"}
            if len(k) > 3:
                # an end's metrics carry its exit reason and selfServed, as a
                # group's string (README, Flow exits); nFlow, at the start, not
                d["exitReason"] = k[3]
                d["selfServed"] = "true" if k[4] else "false"
            if mi >= 0 and with_outcome:
                oi = model.milestone_outcome(f, mi)
            if oi >= 0:
                d["flowOutcomeId"] = model.outcomes[oi]["id"]
                d["flowOutcome"] = model.outcomes[oi]["name"]
            if mi >= 0:
                d["flowMilestoneId"] = model.milestones[mi]["id"]
            if not pred(d):
                return None
            return tuple(sorted((x, d[x]) for x in gset if x in d))
        res = await self._store_query(model.flow_store, start, min(end, model.now), gran,
                                      keyfn, metrics)
        return Response(200, {"results": await self._agg_results(res, start, end, gran,
                                                                 metrics)})

    # ------------------------------------------------------------ data actions
    async def h_list_actions(self, req, p, tok):
        items = self.actions.items
        cat = req.q1("category")
        if cat:
            items = [a for a in items if a["category"] == cat]
        return self._simple_list(req, items, "/api/v2/integrations/actions")

    async def h_action_agg(self, req, p, tok):
        """tTotalExecution per bucket and the groups asked (README, Data
        actions); forms action_stats (count only) and action_group (the
        action by name only)."""
        body = req.json()
        start, end, gran, metrics, gb = self._agg_common(body, simactions.DIMS, "actions")
        bad = [m for m in metrics if m not in simactions.METRICS]
        if bad:
            raise ApiError(400, "bad.request", "Invalid metric(s): %s" % ",".join(map(str, bad)))
        flt = body.get("filter")
        ids = filter_values(flt, "actionId")
        if len(ids) > simactions.MAX_PREDICATES:
            raise ApiError(400, "bad.request",
                           "A single query may contain no more than %d actionId predicates"
                           % simactions.MAX_PREDICATES, {"max": simactions.MAX_PREDICATES})
        pred = compile_filter(flt, simactions.DIMS)
        acts = self.actions
        idxs = None
        if ids and (flt or {}).get("type") == "or" and not (flt or {}).get("clauses") and \
                all(isinstance(x, dict) and x.get("dimension") == "actionId"
                    for x in flt.get("predicates") or []):
            idxs = sorted({acts.by_id[x] for x in ids if x in acts.by_id})
        self.sync()
        res = acts.stats(start, end, gran, self.model.now, idxs)
        full = self.forms["action_stats"] == "full"
        by_name = self.forms["action_group"] == "name"
        groups = {}
        status_form = self.forms["action_errors"] == "status"
        for (b, i, err, rs), st in res.items():
            d = acts.dims(i, err, rs, status_form)
            if not pred(d):
                continue
            g = {x: d[x] for x in gb if x in d}
            if by_name and "actionId" in g:
                del g["actionId"]
                g["actionName"] = d["actionName"]
            gk = tuple(sorted(g.items()))
            e = groups.setdefault(gk, {}).setdefault(b, [0, 0, None, None])
            e[0] += st[0]
            e[1] += st[1]
            e[2] = st[2] if e[2] is None else min(e[2], st[2])
            e[3] = st[3] if e[3] is None else max(e[3], st[3])
        results = []
        for gk in sorted(groups):
            data = []
            for b in sorted(groups[gk]):
                c, sm, mn, mx = groups[gk][b]
                bs = start + b * gran
                stats = {"count": c, "sum": sm, "min": mn, "max": mx} if full else {"count": c}
                data.append({"interval": M.iso(bs) + "/" + M.iso(min(end, bs + gran)),
                             "metrics": [{"metric": m, "stats": dict(stats)} for m in metrics]})
            results.append({"group": dict(gk), "data": data})
        return Response(200, {"results": results})

    async def h_sim_truth_actions(self, req, p, tok):
        self.sync()
        gran = parse_duration_ms(req.q1("granularity", "PT5M"))
        n = int(req.q1("buckets", "12"))
        return Response(200, self.actions.truth(gran, n, self.model.now))

    # ------------------------------------------------------------ bots
    async def h_bot_agg(self, req, p, tok):
        """The bot metrics per bucket and the groups asked (README, Bots);
        form bot_query: the questions as oBotSessionQuery[SelfServed]'s sum
        (default) or as their count."""
        body = req.json()
        start, end, gran, metrics, gb = self._agg_common(body, simbots.DIMS, "bots")
        bad = [m for m in metrics if m not in simbots.METRICS]
        if bad:
            raise ApiError(400, "bad.request", "Invalid metric(s): %s" % ",".join(map(str, bad)))
        pred = compile_filter(body.get("filter"), simbots.DIMS)
        self.sync()
        res = self.bots.stats(start, end, gran, self.model.now, gb, pred)
        by_sum = self.forms["bot_query"] == "sum"
        groups = {}
        for (g, b), ms in res.items():
            groups.setdefault(g, {})[b] = ms
        results = []
        for g in sorted(groups):
            data = []
            for b in sorted(groups[g]):
                bs = start + b * gran
                out = []
                for m in metrics:
                    v = groups[g][b].get(m)
                    if v is None:
                        continue   # what did not happen is absent
                    c, sm, mn, mx = v
                    if m == "nBotSessions":
                        st = {"count": c}
                    elif m.startswith("oBotSessionQuery"):
                        st = {"count": c, "sum": sm} if by_sum else {"count": sm}
                    else:
                        st = {"count": c, "sum": sm, "min": mn, "max": mx}
                    out.append({"metric": m, "stats": st})
                if out:
                    data.append({"interval": M.iso(bs) + "/" + M.iso(min(end, bs + gran)),
                                 "metrics": out})
            if data:
                results.append({"group": dict(g), "data": data})
        return Response(200, {"results": results})

    async def h_sim_truth_flow_exits(self, req, p, tok):
        """Per closed bucket and flow, the executions ended per exit reason
        and per selfServed (README, Flow exits)."""
        self.sync()
        model = self.model
        gran = parse_duration_ms(req.q1("granularity", "PT5M"))
        n = int(req.q1("buckets", "12"))
        end = (model.now // gran) * gran
        start = end - n * gran
        return Response(200, {"granularity_ms": gran, "sim_time_ms": model.now,
                              "sim_time": M.iso(model.now),
                              "flows": {f.id: {"name": f.name} for f in model.flows},
                              "buckets": model.flow_exits(start, end, gran)})

    async def h_sim_truth_bots(self, req, p, tok):
        self.sync()
        gran = parse_duration_ms(req.q1("granularity", "PT5M"))
        n = int(req.q1("buckets", "12"))
        return Response(200, self.bots.truth(gran, n, self.model.now))

    # ------------------------------------------------------------ rate limits
    async def h_ratelimit_agg(self, req, p, tok):
        """oRateLimitRecorded per bucket and the groups asked (README,
        Rate-limit aggregates): its count, the times a limit was recorded."""
        body = req.json()
        start, end, gran, metrics, gb = self._agg_common(body, simratelimits.DIMS,
                                                         "ratelimits")
        bad = [m for m in metrics if m not in simratelimits.METRICS]
        if bad:
            raise ApiError(400, "bad.request", "Invalid metric(s): %s" % ",".join(map(str, bad)))
        pred = compile_filter(body.get("filter"), simratelimits.DIMS)
        self.sync()
        groups = {}
        for (g, b), n in self.rate_limits.stats(start, end, gran, self.model.now, gb,
                                                pred).items():
            groups.setdefault(g, {})[b] = n
        results = []
        for g in sorted(groups):
            data = []
            for b in sorted(groups[g]):
                bs = start + b * gran
                data.append({"interval": M.iso(bs) + "/" + M.iso(min(end, bs + gran)),
                             "metrics": [{"metric": "oRateLimitRecorded",
                                          "stats": {"count": groups[g][b]}}]})
            results.append({"group": dict(g), "data": data})
        return Response(200, {"results": results})

    async def h_sim_truth_ratelimits(self, req, p, tok):
        self.sync()
        gran = parse_duration_ms(req.q1("granularity", "PT5M"))
        n = int(req.q1("buckets", "12"))
        return Response(200, self.rate_limits.truth(gran, n, self.model.now))

    # ------------------------------------------------------------ telephony, status page
    def _ids_param(self, req, name):
        """A comma-separated id list of at most simplatform.MAX_IDS ids."""
        ids = [x for v in req.qall(name) for x in v.split(",") if x]
        if not ids:
            raise ApiError(400, "bad.request", "%s is required" % name)
        if len(ids) > simplatform.MAX_IDS:
            raise ApiError(400, "bad.request", "Maximum of %d %s allowed"
                           % (simplatform.MAX_IDS, name), {"max": simplatform.MAX_IDS})
        return ids

    async def h_list_edges(self, req, p, tok):
        self.sync()
        pf = self.platform
        s = pf.slot(self.model.now)
        # showCloudMedia defaults to true (SDK documentation): the
        # cloud-media edges are listed unless asked not to be
        cloud = req.q1("showCloudMedia", "true").lower() != "false"
        items = [pf.edge_doc(i, s) for i in range(len(pf.edges))
                 if cloud or not pf.edges[i]["cloud"]]
        items = self.name_filter(items, req.q1("name"))
        return self.page(req, items, "/api/v2/telephony/providers/edges", lambda x: x,
                         max_size=self.platform_page_max)

    async def h_list_trunks(self, req, p, tok):
        self.sync()
        pf = self.platform
        s = pf.slot(self.model.now)
        tt = req.q1("trunkType")
        if tt and tt not in ("EXTERNAL", "PHONE", "EDGE"):
            raise ApiError(400, "bad.request", "trunkType must be EXTERNAL, PHONE or EDGE")
        items = [pf.trunk_doc(i, s) for i in range(len(pf.trunks))
                 if not tt or pf.trunks[i]["type"] == tt]
        edge = req.q1("edge.id")
        if edge:
            items = [x for x in items if x.get("edge", {}).get("id") == edge]
        # form trunk_next_uri drop (the default): the page links leave
        # trunkType out, so following nextUri lists every type
        drop = ("trunkType",) if self.forms["trunk_next_uri"] == "drop" else ()
        return self.page(req, items, "/api/v2/telephony/providers/edges/trunks", lambda x: x,
                         max_size=self.platform_page_max, link_drop=drop)

    async def h_edge_metrics(self, req, p, tok):
        """list[EdgeMetrics] of the edges asked for; an offline edge's are
        its last, hours old by eventTime (form offline_metrics stale), or
        left out (absent); unknown ids are left out."""
        ids = self._ids_param(req, "edgeIds")
        self.sync()
        pf = self.platform
        s = pf.slot(self.model.now)
        out = []
        for x in ids:
            i = pf.edge_index.get(x)
            m = pf.edge_metrics(i, s, self.model.now,
                                stale=self.forms["offline_metrics"] == "stale") \
                if i is not None else None
            if m is not None:
                out.append(m)
        return self._metrics_answer(out)

    async def h_trunk_metrics(self, req, p, tok):
        ids = self._ids_param(req, "trunkIds")
        self.sync()
        pf = self.platform
        s = pf.slot(self.model.now)
        stale = self.forms["offline_metrics"] == "stale"
        out = [pf.trunk_metrics(pf.trunk_index[x], s, self.model.now, stale) for x in ids
               if x in pf.trunk_index]
        return self._metrics_answer([m for m in out if m is not None])

    def _metrics_answer(self, out):
        """list[EdgeMetrics] / list[TrunkMetrics] as documented (form
        platform_metrics list), or wrapped in "entities" (entities)."""
        if self.forms["platform_metrics"] == "entities":
            return Response(200, {"entities": out})
        return Response(200, out)

    async def h_status_page(self, req, p, tok):
        """The Statuspage document of the status page (no token: a public
        page); a request with an Authorization header is refused, so a
        token never reaching it is tested."""
        e = self.stats["requests"].setdefault("GET /sim/status/api/v2/components.json",
                                              {"total": 0, "by_status": {}})
        e["total"] += 1
        if req.header("authorization"):
            e["by_status"]["400"] = e["by_status"].get("400", 0) + 1
            raise ApiError(400, "bad.request", "the status page takes no Authorization")
        self.sync()
        pf = self.platform
        return Response(200, pf.status_doc(pf.slot(self.model.now), self.model.now,
                                           self.forms["status_group_link"]))

    # ------------------------------------------------------------ operational events
    async def h_list_event_definitions(self, req, p, tok):
        """EventDefinitionListing: {"entities": [...]} and nothing else, as
        the SDK model has it (form definitions_listing entities), or paged
        like the other listings (paged; UNCONFIRMED)."""
        items = [dict(d) for d in self.events.items]
        if req.q1("pageSize") is not None or req.q1("pageNumber") is not None:
            # the route takes none (README, Operational events)
            self.stats["definitions_paging_params"] = \
                self.stats.get("definitions_paging_params", 0) + 1
        if self.forms["definitions_listing"] == "paged":
            return self.page(req, items, "/api/v2/usage/events/definitions", lambda x: x,
                             max_size=100)
        return Response(200, {"entities": items})

    async def h_usage_events_agg(self, req, p, tok):
        """EventAggregatesResponse for the interval of an
        EventAggregatesQueryRequest, whose one property is interval: any
        other is refused, so a plugin asking for more is caught. Definitions
        without events are left out (form usage_events_zeros omit) or listed
        with 0 (zeros); both UNCONFIRMED."""
        body = req.json()
        if not isinstance(body, dict):
            raise ApiError(400, "bad.request", "body required")
        extra = sorted(k for k in body if k != "interval")
        if extra:
            raise ApiError(400, "bad.request", "unknown field(s): %s" % ",".join(extra))
        start, end = parse_interval(body.get("interval"))
        asked = self.stats["aggregate_intervals"].setdefault("usage_events", [])
        if len(asked) < 10000:
            asked.append([start, end])
        self.sync()
        hidden = [0]
        doc = self.events.answer(start, end, self.model.now,
                                 self.forms["usage_events_zeros"] == "zeros", hidden)
        over = getattr(self, "events_count", None)
        if over and over["answers"] > 0:  # fault events_count
            over["answers"] -= 1
            d = self.events.items[over["definition"] % len(self.events.items)]
            rows = [r for r in doc["eventDefinitionAggregates"]
                    if r["eventDefinition"]["id"] != d["id"]]
            rows.append({"eventDefinition": {
                "id": d["id"], "selfUri": "/api/v2/usage/events/definitions/" + d["id"]},
                "eventCount": over["value"]})
            doc["eventDefinitionAggregates"] = rows
        # --events-late-share: events of the interval not yet visible
        self.stats["events_late_hidden"] = self.stats.get("events_late_hidden", 0) + hidden[0]
        return Response(200, doc)

    async def h_sim_truth_events(self, req, p, tok):
        self.sync()
        gran = parse_duration_ms(req.q1("granularity", "PT5M"))
        n = int(req.q1("buckets", "12"))
        return Response(200, self.events.truth(gran, n, self.model.now))
    # ------------------------------------------------------------ API usage
    async def h_usage_query(self, req, p, tok):
        """POST /api/v2/usage/query (ApiUsageOrganizationQuery): checked
        against the vocabularies of the record, computed at once, its
        results answered "Running" --usage-pending times first."""
        self.usage_legacy_gone()
        body = req.json()
        if not isinstance(body, dict):
            raise ApiError(400, "bad.request", "body required")
        start, end = self.usage_interval(body)
        gran = body.get("granularity") or None
        if gran is not None and gran not in simusage.GRANULARITIES:
            raise ApiError(400, "bad.request", "granularity must be Day, Week or Month")
        group_by = body.get("groupBy") or []
        metrics = body.get("metrics") or []
        if not isinstance(group_by, list) or any(g not in simusage.GROUP_BY for g in group_by):
            raise ApiError(400, "bad.request", "groupBy: OAuthClientId, OrganizationId, "
                           "UserId, TemplateUri, HttpMethod")
        if not isinstance(metrics, list) or any(m not in simusage.METRIC_NAMES for m in metrics):
            raise ApiError(400, "bad.request", "metrics: Status200, Status300, Status400, "
                           "Status500, Status429, Requests")
        self.sync()
        rows = self.usage.rows(start, end, self.model.now, gran, group_by,
                               date=self.forms["usage_date"] == "present",
                               zeros=self.forms["usage_zeros"] == "present")
        if metrics:
            keep = {simusage.METRIC_NAMES[m] for m in metrics}
            for r in rows:
                for m in simusage.METRICS:
                    if m not in keep:
                        r.pop(m, None)
        # no pagination: a larger answer is cut, without notice
        rows = rows[:self.usage_legacy_limit]
        eid = str(uuid.uuid4())
        self.usage_runs[eid] = {"rows": rows, "left": self.usage_pending}
        self.usage_last = dict(body, executionId=eid)
        return Response(200, {"executionId": eid,
                              "resultsUri": "/api/v2/usage/query/%s/results" % eid})

    async def h_usage_results(self, req, p, tok):
        self.usage_legacy_gone()
        run = self.usage_runs.get(p["executionId"])
        if run is None:
            raise ApiError(404, "not.found", "no usage query execution %s" % p["executionId"])
        if run["left"] > 0:
            run["left"] -= 1
            return Response(200, {"queryStatus": "Running"})
        doc = {"results": run["rows"]}
        if self.forms["usage_status"] == "present":
            doc["queryStatus"] = "Complete"
        return Response(200, doc)

    def usage_legacy_gone(self):
        if self.forms["usage_legacy"] == "gone":
            raise ApiError(404, "not.found", "Resource not found")

    @staticmethod
    def usage_interval(body):
        iv = body.get("interval")
        ends = iv.split("/", 1) if isinstance(iv, str) and "/" in iv else None
        start, end = (simusage.parse_day_or_time(x) for x in ends) if ends else (None, None)
        if start is None or end is None or end <= start:
            raise ApiError(400, "bad.request", "interval must be 'start/end' ISO-8601")
        return start, end

    async def h_usage_job(self, req, p, tok):
        """POST /api/v2/usage/aggregates/query/jobs
        (OrganizationPublicApiUsageQueryRequest): interval (start no more
        than a year ago, end no more than 90 days after it) and
        granularity; answered {id, resultsUri, selfUri}
        (OrganizationUsageQueryResponse), its status "Queued" then
        "Running" for --usage-pending requests, then "Succeeded"."""
        if self.forms["usage_jobs"] == "absent":
            raise ApiError(404, "not.found", "Resource not found")
        body = req.json()
        if not isinstance(body, dict):
            raise ApiError(400, "bad.request", "body required")
        for k in body:
            if k in USAGE_JOB_UNMODELLED:
                raise ApiError(400, "bad.request", "%s: not modelled by the simulator" % k)
            if k not in USAGE_JOB_KEYS:
                raise ApiError(400, "bad.request", "unknown property %s" % k)
        start, end = self.usage_interval(body)
        gran = body.get("granularity") or None
        if gran not in (None, "Day"):
            raise ApiError(400, "bad.request", "granularity: the simulator models Day")
        self.sync()
        if start < self.model.now - YEAR_MS:
            raise ApiError(400, "bad.request", "Start date cannot be more than a year ago")
        if end - start > 90 * simusage.DAY_MS:
            raise ApiError(400, "bad.request", "End date cannot be more than 90 days after "
                           "the start")
        rows = self.usage.job_rows(start, end, self.model.now,
                                   zeros=self.forms["usage_zeros"] == "present",
                                   ref=self.forms["usage_client_ref"])
        jid = str(uuid.uuid4())
        self.usage_jobs[jid] = {"rows": rows, "left": self.usage_pending, "polls": 0}
        self.usage_last = dict(body, jobId=jid)
        uri = "/api/v2/usage/aggregates/query/jobs/%s" % jid
        return Response(200, {"id": jid, "resultsUri": uri, "selfUri": uri})

    async def h_usage_job_get(self, req, p, tok):
        """GET .../jobs/{jobId}?pageSize=&after= (OrganizationPublic-
        ApiUsageResultsResponse): queryStatus, then the entities of a
        page and, while more follow, nextUri with the cursor in after=
        (form usage_next cursor: a "cursor" field instead)."""
        if self.forms["usage_jobs"] == "absent":
            raise ApiError(404, "not.found", "Resource not found")
        jid = p["jobId"]
        job = self.usage_jobs.get(jid)
        if job is None:
            raise ApiError(404, "not.found", "no usage query job %s" % jid)
        try:
            size = int(req.q1("pageSize", "100"))
        except ValueError:
            raise ApiError(400, "bad.request", "pageSize must be an integer")
        if size < 1 or size > USAGE_PAGE_MAX:
            raise ApiError(400, "bad.request", "pageSize: 1 to %d" % USAGE_PAGE_MAX)
        size = min(size, self.usage_page_max)
        uri = "/api/v2/usage/aggregates/query/jobs/%s" % jid
        after = req.q1("after")
        start = 0
        if after is not None:
            try:
                owner, at = base64.urlsafe_b64decode(after.encode()).decode().split(":")
                start = int(at)
            except (ValueError, UnicodeDecodeError, binascii.Error):
                owner = None
            if owner != jid[:8] or not 0 < start <= len(job["rows"]):
                raise ApiError(400, "bad.request", "after: not a cursor of this job")
        if job["left"] > 0:
            job["left"] -= 1
            job["polls"] += 1
            return Response(200, {"queryStatus": "Queued" if job["polls"] == 1 else "Running",
                                  "selfUri": uri})
        doc = {"queryStatus": "Succeeded", "entities": job["rows"][start:start + size],
               "selfUri": uri}
        if start + size < len(job["rows"]):
            cursor = base64.urlsafe_b64encode(("%s:%d" % (jid[:8], start + size))
                                              .encode()).decode()
            if self.forms["usage_next"] == "uri":
                doc["nextUri"] = "%s?%s" % (uri, urllib.parse.urlencode(
                    [("pageSize", size), ("after", cursor)]))
            else:
                doc["cursor"] = cursor
        return Response(200, doc)

    async def h_sim_truth_usage(self, req, p, tok):
        """The truth of one UTC day (day=YYYY-MM-DD or epoch ms; default the
        day the last usage query asked for, else yesterday), with that
        query's body; service=legacy: without Genesys's own clients."""
        self.sync()
        day = req.q1("day")
        if day:
            day_ms = int(day) if day.isdigit() else simusage.parse_day_or_time(day)
        elif self.usage_last:
            day_ms = simusage.parse_day_or_time(self.usage_last["interval"].split("/")[0])
        else:
            day_ms = self.model.now - self.model.now % simusage.DAY_MS - simusage.DAY_MS
        if day_ms is None:
            raise ApiError(400, "bad.request", "day: YYYY-MM-DD or epoch ms")
        day_ms -= day_ms % simusage.DAY_MS
        service = req.q1("service", "jobs")
        if service not in ("jobs", "legacy"):
            raise ApiError(400, "bad.request", "service: jobs or legacy")
        out = self.usage.truth(day_ms, self.model.now, service)
        out["last_query"] = self.usage_last
        return Response(200, out)

    async def h_sim_truth_platform(self, req, p, tok):
        self.sync()
        at = req.q1("at")
        return Response(200, self.platform.truth(int(at) if at else self.model.now))
    async def h_conv_details(self, req, p, tok):
        """The conversation details query (README, Call quality (MOS)):
        conversations by interval, conversation and segment filters, paged
        within the API's limits, sorted by conversationStart."""
        body = req.json()
        if not isinstance(body, dict):
            raise ApiError(400, "bad.request", "body required")
        start, end = parse_interval(body.get("interval"))
        paging = body.get("paging") or {}
        size = paging.get("pageSize", simmos.PAGE_SIZE_DEFAULT)
        page = paging.get("pageNumber", 1)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size:
            raise ApiError(400, "bad.request", "paging.pageSize must be a positive integer")
        if size > simmos.PAGE_SIZE_MAX:
            raise ApiError(400, "bad.request", "paging.pageSize must not exceed %d"
                           % simmos.PAGE_SIZE_MAX, {"max": simmos.PAGE_SIZE_MAX})
        if not isinstance(page, int) or isinstance(page, bool) or page < 1:
            raise ApiError(400, "bad.request", "paging.pageNumber must be a positive integer")
        limit = getattr(self.opts, "details_results_max", simmos.RESULTS_MAX)
        if page * size > simmos.RESULTS_MAX:
            raise ApiError(400, "bad.request", PAGINATION_REFUSED % simmos.RESULTS_MAX)
        order_by = body.get("orderBy", "conversationStart")
        by_end = order_by == "conversationEnd" and \
            self.forms["details_order_by"] == "sorted"
        if body.get("order", "asc") not in ("asc", "desc") or \
                order_by not in ("conversationStart", "conversationEnd") or \
                (order_by == "conversationEnd" and
                 self.forms["details_order_by"] == "refused"):
            raise ApiError(400, "bad.request",
                           "orderBy %r is not supported; the options are conversationStart, "
                           "segmentStart and segmentEnd" % order_by
                           if order_by != "conversationStart" else "invalid order")
        cf = [compile_filter(f, simmos.CONV_DIMS) for f in body.get("conversationFilters") or []]
        segf = body.get("segmentFilters") or []
        qids = []
        for f in segf:
            qids += filter_values(f, "queueId")
        if len(qids) > simmos.MAX_PREDICATES:
            raise ApiError(400, "bad.request",
                           "A single query may contain no more than %d queueId predicates"
                           % simmos.MAX_PREDICATES, {"max": simmos.MAX_PREDICATES})
        sf = [compile_filter(f, simmos.SEG_DIMS) for f in segf]
        self.sync()
        now = self.model.now
        m = self.mos
        # the queues asked for, when every segment filter is an or of queueIds
        only = None
        if qids and len(segf) == 1 and segf[0].get("type") == "or" and \
                not segf[0].get("clauses") and \
                all(isinstance(x, dict) and x.get("dimension") == "queueId"
                    for x in segf[0].get("predicates") or []):
            only = qids
        hits, dups = [], 0
        internal = self.forms["details_sessions"] == "internal"
        found = m.matching(start, end, only, now)
        if by_end:
            # those not ended (no conversationEnd filter asked) last
            found.sort(key=lambda c: (c["end"] if c["indexed"] <= now else float("inf"),
                                      c["id"]))
        for c in found:
            d = m.details(c, now, internal)
            cd = {"conversationEnd": d.get("conversationEnd"),
                  "conversationStart": d["conversationStart"], "conversationId": c["id"],
                  "mediaStatsMinConversationMos": c["mos"], "originatingDirection": "inbound"}
            if not all(f(cd) for f in cf):
                continue
            segs = [{"queueId": sg.get("queueId"), "mediaType": ses["mediaType"],
                     "purpose": pa["purpose"]}
                    for pa in d["participants"] for ses in pa["sessions"]
                    for sg in ses["segments"]]
            if not all(any(f(sd) for sd in segs) for f in sf):
                continue
            hits.append(d)
            # one hit per matching queue before duplicates are filtered:
            # what totalHits counts (README)
            dups += len({sd["queueId"] for sd in segs if sd["queueId"] is not None
                         and (only is None or sd["queueId"] in only)}) - 1
        if body.get("order") == "desc":
            hits.reverse()
        # what each request asked for and found (bench_mos.py)
        asked = self.stats["aggregate_intervals"].setdefault("details", [])
        if len(asked) < 10000:
            asked.append([start, end, page, len(hits), len(only) if only else None])
        total = len(hits) + (max(0, dups) if self.forms["details_hits"] == "approximate" else 0)
        # --details-results-max: a range holding more than it is refused
        # past it, as the real query is past 100,000 (README)
        if total > limit and page * size > limit:
            refused = self.stats["aggregate_intervals"].setdefault("details_refused", [])
            if len(refused) < 10000:
                refused.append([start, end, page, total])
            raise ApiError(400, "bad.request", PAGINATION_REFUSED % limit)
        out = {"totalHits": total}
        pg = hits[(page - 1) * size:page * size]
        if pg:
            out["conversations"] = pg
        return Response(200, out)

    async def h_queue_ewt(self, req, p, tok):
        """EstimatedWaitTimePredictions of a queue and media type (README,
        Estimated wait time), each answer recorded for /sim/truth/ewt."""
        self.sync()
        q = self.model.queue_by_id.get(p["queueId"])
        if q is None:
            raise ApiError(404, "not.found", "Queue not found")
        mt = p["mediaType"]
        if mt not in EWT_MEDIA:
            raise ApiError(400, "bad.request", "Invalid mediaType: %s" % mt,
                           {"mediaType": mt})
        media = EWT_MEDIA[mt]
        seconds, waiting = self.model.ewt_seconds(q, media) if media else (0, 0)
        now_ms = self.model.now
        e = self.ewt
        e["requests"] += 1
        if len(e["log"]) < EWT_IDLE_LIST_MAX:
            e["log"].append({"queueId": q.id, "mediaType": media or mt,
                             "real_time": time.time()})
        e["answers"].setdefault(q.id, {})[media or mt] = {
            "seconds": seconds, "waiting": waiting, "at_ms": now_ms,
            "at": M.iso(now_ms), "real_time": time.time()}
        if waiting == 0:
            e["idle_requests"] += 1
            if len(e["idle"]) < EWT_IDLE_LIST_MAX:
                e["idle"].append({"queueId": q.id, "mediaType": media or mt,
                                  "at": M.iso(now_ms), "real_time": time.time()})
        # formula BEST: the first value of PredictionResults' enum (README,
        # Evidence: Estimated wait time); the others carry other values
        results = [{"intent": mt, "formula": "BEST", "estimatedWaitTimeSeconds": seconds}]
        if self.forms["ewt_results"] == "labelled":
            lid = "ewt-label-" + q.id[:8]
            results.insert(0, {"intent": mt, "formula": "BEST",
                               "estimatedWaitTimeSeconds": seconds * 2 + 7,
                               "label": {"id": lid, "selfUri": "/api/v2/routing/labels/" + lid}})
        elif self.forms["ewt_results"] == "formulas":
            results[:0] = [{"intent": mt, "formula": f, "estimatedWaitTimeSeconds": v}
                           for f, v in (("SIMPLE", seconds + 1000),
                                        ("POSITION-IN-QUEUE", seconds + 2000),
                                        ("CRYSTAL-BALL", seconds + 3000))]
        return Response(200, {"results": results})

    def _cursor_page(self, req, items, path):
        """A cursor listing (TeamEntityListing, TeamMemberEntityListing:
        entities, nextUri, selfUri, previousUri; pageSize, after): the cursor
        is the index of the next item."""
        try:
            ps = min(max(1, int(req.q1("pageSize", "25"))), 100)
            at = int(req.q1("after", "0") or "0")
        except ValueError:
            raise ApiError(400, "bad.request", "pageSize and after must be integers")
        body = {"entities": items[at:at + ps],
                "selfUri": path + "?" + urllib.parse.urlencode(
                    [("pageSize", ps), ("after", at)])}
        if at + ps < len(items):
            body["nextUri"] = path + "?" + urllib.parse.urlencode(
                [("pageSize", ps), ("after", at + ps)])
        if at > 0:
            body["previousUri"] = path + "?" + urllib.parse.urlencode(
                [("pageSize", ps), ("before", at)])
        return Response(200, body)

    async def h_list_teams(self, req, p, tok):
        """GET /api/v2/teams (README, Agent states by team or division)."""
        teams = self.name_filter([{"id": t["id"], "name": t["name"],
                                   "division": {"id": t["division"]["id"],
                                                "name": t["division"]["name"]},
                                   "memberCount": len(t["members"]),
                                   "selfUri": "/api/v2/teams/" + t["id"]}
                                  for t in self.model.teams], req.q1("name"))
        return self._cursor_page(req, teams, "/api/v2/teams")

    async def h_team_members(self, req, p, tok):
        """GET /api/v2/teams/{teamId}/members: UserReferenceWithName."""
        t = self.model.team_by_id.get(p["teamId"])
        if t is None:
            raise ApiError(404, "not.found", "Team not found")
        users = [{"id": self.model.agents[i].id, "name": self.model.agents[i].name,
                  "selfUri": "/api/v2/users/" + self.model.agents[i].id}
                 for i in t["members"]]
        return self._cursor_page(req, users, "/api/v2/teams/%s/members" % t["id"])

    async def h_agent_status_counts(self, req, p, tok):
        """POST /api/v2/analytics/agents/status/counts (README, Agent states
        by team or division): the model's active agents that pass userFilter
        (type and/or, predicates on divisionId, userId, teamId,
        managementUnitId, activeQueueId; the other dimensions of the record
        match nobody; with the form agent_predicates older, those the SDK
        added in 257.0.0 are 400), counted by the groupBy asked (segmentType
        when none)."""
        self.sync()
        body = req.json()
        if not isinstance(body, dict):
            raise ApiError(400, "bad.request", "a JSON object is required")
        group_by = req.qall("groupBy") or ["segmentType"]
        for g in group_by:
            if g not in AGENT_COUNTS_GROUP_BY:
                raise ApiError(400, "bad.request", "Invalid groupBy: %s" % g, {"groupBy": g})
        agents = self.model.agents
        flt = body.get("userFilter")
        if flt is not None:
            preds = flt.get("predicates") or [] if isinstance(flt, dict) else None
            kind = flt.get("type") if isinstance(flt, dict) else None
            if preds is None or kind not in ("and", "or") or not isinstance(preds, list):
                raise ApiError(400, "bad.request", "userFilter needs type and/or and predicates")
            if len(preds) > AGENT_COUNTS_MAX_PREDICATES:
                raise ApiError(400, "bad.request", "At most %d predicates"
                               % AGENT_COUNTS_MAX_PREDICATES)
            tests = []
            known = (AGENT_COUNTS_DIMENSIONS if self.forms["agent_predicates"] == "current"
                     else AGENT_COUNTS_DIMENSIONS_OLDER)
            for pr in preds:
                dim = pr.get("dimension") if isinstance(pr, dict) else None
                val = pr.get("value") if isinstance(pr, dict) else None
                if dim not in known or not isinstance(val, str):
                    raise ApiError(400, "bad.request", "Invalid predicate: %r" % (pr,))
                tests.append((dim, val))
            qidx = self.model.queue_by_id
            unit_of = self.adherence.unit_of

            def match(a, dim, val):
                if dim == "divisionId":
                    return a.div["id"] == val
                if dim == "userId":
                    return a.id == val
                if dim == "teamId":
                    t = self.model.team_by_id.get(val)
                    return t is not None and a.idx in t["member_set"]
                if dim == "managementUnitId":
                    return unit_of.get(a.id) == val
                if dim == "activeQueueId":
                    q = qidx.get(val)
                    return q is not None and q.idx in a.joined
                return False   # managerId: the model's agents have no manager
            join = all if kind == "and" else any
            agents = [a for a in agents if join(match(a, d, v) for d, v in tests)]
        routing, presence = self.model.agent_state_counts(agents)
        out = {}
        if "segmentType" in group_by:
            # UNCONFIRMED segment types: the model's own (an agent handling a
            # conversation "interact", the rest left out)
            n = sum(1 for a in agents if a.seg is not None)
            out["segmentCounts"] = [{"segmentType": "interact", "count": n}] if n else []
        if "routingStatus" in group_by:
            out["routingStatusCounts"] = [{"routingStatus": r, "count": n}
                                          for r, n in sorted(routing.items())]
        if "presence" in group_by:
            out["presenceCounts"] = [{"systemPresence": sp, "organizationPresenceId": oid,
                                      "count": n} for (sp, oid), n in sorted(presence.items())]
        if "isOutOfOffice" in group_by:
            out["isOutOfOfficeCounts"] = ([{"isOutOfOffice": False, "count": len(agents)}]
                                          if agents else [])
        self.agent_counts["requests"] += 1
        return Response(200, out)

    async def h_sim_truth_agentgroups(self, req, p, tok):
        self.sync()
        out = self.model.group_truth()
        by_id = {a.id: a for a in self.model.agents}
        out["units"] = {u["id"]: dict(self.model.group_counts(
            [by_id[i] for i in u["agents"] if i in by_id]), name=u["name"])
            for u in self.adherence.units}
        out["requests"] = self.agent_counts["requests"]
        out["sim_time_ms"] = self.model.now
        out["real_time"] = time.time()
        return Response(200, out)

    def _campaigns_now(self):
        self.sync()
        self.campaigns.advance(self.model.now, self.model.frozen)
        return self.campaigns

    def _campaign(self, p):
        c = self._campaigns_now().by_id.get(p["campaignId"])
        if c is None:
            raise ApiError(404, "not.found", "Campaign not found")
        return c

    async def h_list_campaigns(self, req, p, tok):
        """GET /api/v2/outbound/campaigns (README, Outbound campaigns):
        CampaignEntityListing, pageSize at most 100, name filtered as the
        other listings."""
        cs = self._campaigns_now()
        cs.requests["list"] += 1
        items = self.name_filter(cs.items, req.q1("name"))
        return self.page(req, items, "/api/v2/outbound/campaigns", cs.listing, max_size=100)

    async def h_campaign_stats(self, req, p, tok):
        """GET /api/v2/outbound/campaigns/{campaignId}/stats: CampaignStats."""
        c = self._campaign(p)
        self.campaigns.requests["stats"] += 1
        return Response(200, self.campaigns.stats(c))

    async def h_campaign_progress(self, req, p, tok):
        """GET /api/v2/outbound/campaigns/{campaignId}/progress."""
        c = self._campaign(p)
        self.campaigns.requests["progress"] += 1
        return Response(200, self.campaigns.progress(c))

    async def h_campaigns_progress(self, req, p, tok):
        """POST /api/v2/outbound/campaigns/progress: a list of campaign ids
        in, a list of CampaignProgress out (an unknown id left out:
        UNCONFIRMED)."""
        body = req.json()
        if not isinstance(body, list) or not all(isinstance(x, str) for x in body):
            raise ApiError(400, "bad.request", "a list of campaign ids is required")
        if len(body) > CAMPAIGN_PROGRESS_MAX_IDS:
            raise ApiError(400, "bad.request", "At most %d campaign ids"
                           % CAMPAIGN_PROGRESS_MAX_IDS)
        cs = self._campaigns_now()
        cs.requests["bulk_progress"] += 1
        return Response(200, [cs.progress(cs.by_id[i]) for i in body if i in cs.by_id])

    async def h_resolution_agg(self, req, p, tok):
        """POST /api/v2/analytics/resolutions/aggregates/query (README,
        Resolution aggregates): grouped by queueId and mediaType (both
        needed: the model has no other group), filtered by queueId."""
        body = req.json()
        start, end, gran, metrics, gb = self._agg_common(body, simresolutions.DIMS,
                                                         "resolutions")
        if set(gb) != {"queueId", "mediaType"}:
            raise ApiError(400, "bad.request",
                           "the simulator answers groupBy queueId, mediaType only")
        dim = body.get("alternateTimeDimension") or "eventTime"
        if dim not in ("eventTime", "wrapUpDate"):
            raise ApiError(400, "bad.request", "alternateTimeDimension %r" % dim)
        pred = compile_filter(body.get("filter"), simresolutions.DIMS)
        qids = [q.id for q in self.model.queues
                if pred({"queueId": q.id, "mediaType": "voice"}) or
                pred({"queueId": q.id, "mediaType": "message"})]
        return Response(200, {"results": simresolutions.answer(
            qids, start, end, gran, self.model.now, dim, metrics,
            self.forms["resolution_metric_extra"])})

    async def h_speech_agg(self, req, p, tok):
        """POST /api/v2/analytics/transcripts/aggregates/query (README,
        Speech and text analytics): grouped by queueId and mediaType (the
        model has no other group), filtered by queueId."""
        body = req.json()
        start, end, gran, metrics, gb = self._agg_common(body, simspeech.DIMS, "speech")
        if set(gb) != {"queueId", "mediaType"}:
            raise ApiError(400, "bad.request",
                           "the simulator answers groupBy queueId, mediaType only")
        bad = [m for m in metrics if m not in simspeech.METRICS]
        if bad:
            raise ApiError(400, "bad.request", "Invalid metric(s): %s" % ",".join(map(str, bad)))
        pred = compile_filter(body.get("filter"), simspeech.DIMS)
        self.sync()
        qids = [q.id for q in self.model.queues
                if any(pred({"queueId": q.id, "mediaType": m}) for m in simspeech.MEDIA)]
        return Response(200, {"results": simspeech.answer(qids, start, end, gran,
                                                           self.model.now, metrics)})

    def _workitem_queues(self):
        """The queues with workitems (a backlog): two in three."""
        return [q.id for q in self.model.queues if self.workitems.cells.get(q.id)]

    async def h_workitem_agg(self, req, p, tok):
        """POST /api/v2/analytics/taskmanagement/aggregates/query (README,
        Workitem aggregates): grouped by queueId (the model has no other
        group), filtered by queueId."""
        body = req.json()
        start, end, gran, metrics, gb = self._agg_common(body, simworkitems.AGG_DIMS,
                                                         "workitems")
        if gb != ["queueId"]:
            raise ApiError(400, "bad.request", "the simulator answers groupBy queueId only")
        bad = [m for m in metrics if m not in simworkitems.AGG_METRICS]
        if bad:
            raise ApiError(400, "bad.request", "Invalid metric(s): %s" % ",".join(map(str, bad)))
        pred = compile_filter(body.get("filter"), simworkitems.AGG_DIMS)
        self.sync()
        qids = [q for q in self._workitem_queues() if pred({"queueId": q})]
        return Response(200, {"results": simworkitems.agg_answer(
            qids, start, end, gran, self.model.now, metrics)})

    async def h_sim_truth_workitem_aggregates(self, req, p, tok):
        self.sync()
        gran = parse_duration_ms(req.q1("granularity", "PT5M"))
        n = int(req.q1("buckets", "12"))
        return Response(200, simworkitems.agg_truth(self._workitem_queues(), gran, n,
                                                    self.model.now))

    async def h_sim_truth_speech(self, req, p, tok):
        self.sync()
        gran = parse_duration_ms(req.q1("granularity", "PT5M"))
        n = int(req.q1("buckets", "12"))
        return Response(200, simspeech.truth([q.id for q in self.model.queues], gran, n,
                                             self.model.now))

    async def h_sim_truth_resolutions(self, req, p, tok):
        days = int(req.q1("days", "20"))
        dim = req.q1("dimension", "wrapUpDate")
        return Response(200, simresolutions.truth([q.id for q in self.model.queues], days,
                                                  self.model.now, dim))

    async def h_sim_truth_campaign_aggregates(self, req, p, tok):
        gran = parse_duration_ms(req.q1("granularity", "PT5M"))
        n = int(req.q1("buckets", "12"))
        cs = self._campaigns_now()
        return Response(200, cs.aggregates_truth(gran, n, self.model.now))

    async def h_workitem_metrics(self, req, p, tok):
        """POST /api/v2/analytics/taskmanagement/metrics/query (README,
        Workitems): one queue's backlog, paged by after."""
        try:
            size = int(req.q1("pageSize", "25"))
            return Response(200, self.workitems.query(req.json(), size, req.q1("after"),
                                                      self.forms))
        except (simworkitems.BadQuery, ValueError) as e:
            raise ApiError(400, "bad.request", str(e))

    async def h_sim_truth_workitems(self, req, p, tok):
        out = self.workitems.truth()
        out["forms"] = {k: self.forms[k] for k in self.forms if k.startswith("workitem")}
        out["real_time"] = time.time()
        return Response(200, out)

    async def h_sim_truth_campaigns(self, req, p, tok):
        out = self._campaigns_now().truth()
        out["sim_time_ms"] = self.model.now
        out["real_time"] = time.time()
        return Response(200, out)

    async def h_sim_hold(self, req, p, tok):
        """POST /sim/hold {"queue": id, "media": "voice", "count": n}: n
        conversations held waiting in the queue (README, Estimated wait
        time), published as any; 0 releases them."""
        self.sync()
        body = req.json()
        body = body if isinstance(body, dict) else {}
        q = self.model.queue_by_id.get(body.get("queue"))
        if q is None:
            raise ApiError(404, "not.found", "Queue not found")
        try:
            held = self.model.hold(q.idx, str(body.get("media", "")), int(body.get("count", 0)))
        except (TypeError, ValueError) as e:
            raise ApiError(400, "bad.request", "hold: %s" % e)
        return Response(200, {"queue": q.id, "media": body["media"], "held": held})

    async def h_sim_campaigns(self, req, p, tok):
        """POST /sim/campaigns {"id": …, "campaignStatus": "OFF"}: a
        campaign's status set (what a supervisor's start or stop does),
        published on its topic; "rate": contacts dialled a simulated second
        while ON (a slow dialler's buckets of few attempts); {"id": …, "malformed": true}: a body of each
        of its topics that does not read, published (answers
        {"malformed_sent"}); "unrecorded": true takes a campaignStatus
        outside the record (a status Genesys may add)."""
        body = req.json()
        c = self._campaigns_now().by_id.get(body.get("id") if isinstance(body, dict) else None)
        if c is None:
            raise ApiError(404, "not.found", "Campaign not found")
        if body.get("malformed"):
            return Response(200, {"malformed_sent": self.campaigns.publish_malformed(c["id"])})
        if "rate" in body:   # contacts dialled a simulated second while ON
            try:
                c["rate"] = float(body["rate"])
            except (TypeError, ValueError):
                raise ApiError(400, "bad.request", "rate must be a number")
            if "campaignStatus" not in body:
                return Response(200, self.campaigns.listing(c))
        try:
            self.campaigns.set_status(c, str(body.get("campaignStatus", "")).lower(),
                                      bool(body.get("unrecorded")))
        except ValueError as e:
            raise ApiError(400, "bad.request", str(e))
        return Response(200, self.campaigns.listing(c))

    async def h_list_mgmt_units(self, req, p, tok):
        """GET /api/v2/workforcemanagement/managementunits: ManagementUnitListing,
        every unit in one answer ("paging is not supported": pageSize and
        pageNumber, "Deprecated", change nothing); feature=RealTimeAdherence
        lists the units the client may use it in: none without
        wfm:realtimeAdherence:view (README, "Real-time adherence")."""
        feature = req.q1("feature")
        if feature is not None and feature not in simadherence.FEATURES:
            raise ApiError(400, "bad.request", "feature: not a valid value")
        self.adherence.listed(req.target)
        path = simadherence.UNITS_PATH
        units = self.adherence.units
        if feature == "RealTimeAdherence" and "wfm:realtimeAdherence:view" in self.denied:
            units = []
        return Response(200, {"entities": [
            {"id": u["id"], "name": u["name"], "selfUri": path + "/" + u["id"]}
            for u in units], "selfUri": path})

    async def h_mgmt_unit_adherence(self, req, p, tok):
        """A unit's UserScheduleAdherenceListing: its entities, or (form
        adherence_answer download, or forceDownloadService=true) only a
        downloadUrl where the same listing waits (GET /sim/downloads/{id})."""
        uid = p["managementUnitId"]
        if uid not in self.adherence.unit_by_id:
            raise ApiError(404, "not.found", "management unit not found")
        listing = self.adherence.listing(uid)
        force = (req.q1("forceDownloadService") or "").lower() == "true"
        if self.forms["adherence_answer"] != "download" and not force:
            return Response(200, listing)
        host = self.opts.public_host
        if self.forms["adherence_download"] == "token_elsewhere":
            # the same server under another name: another origin
            host = "localhost" if host != "localhost" else "127.0.0.1"
        did = self.adherence.stash(listing, self.forms["adherence_download"])
        url = "%s://%s:%d/sim/downloads/%s" % ("https" if self.tls_ctx else "http", host,
                                               self.port, did)
        if self.forms["adherence_download"] == "presigned":
            url += "?X-Sim-Signature=" + did[::-1]
        return Response(200, {"downloadUrl": url})

    async def h_sim_download(self, req, p, tok):
        """A downloadUrl's document (README, "Real-time adherence"):
        presigned refuses a request that carries an Authorization header
        (400: the signature is the URL's, a token sent there is seen);
        token and token_elsewhere answer 401 without a valid bearer token."""
        e = self.stats["requests"].setdefault("GET /sim/downloads/{downloadId}",
                                              {"total": 0, "by_status": {}})
        e["total"] += 1
        auth = req.header("authorization")
        valid = False
        if auth:
            try:
                self.auth(req, None)
                valid = True
            except ApiError:
                pass
        status, body = self.adherence.download(p["downloadId"], bool(auth), valid)
        e["by_status"][str(status)] = e["by_status"].get(str(status), 0) + 1
        if status != 200:
            raise ApiError(status, {400: "bad.request", 401: "authentication.required",
                                    404: "not.found"}[status], body)
        return Response(200, body)

    async def h_sim_truth_adherence(self, req, p, tok):
        out = self.adherence.truth()
        out["real_time"] = time.time()
        return Response(200, out)

    async def h_sim_adherence(self, req, p, tok):
        try:
            return Response(200, self.adherence.control(self.hub, req.json() or {}))
        except (KeyError, TypeError, ValueError) as e:
            raise ApiError(400, "bad.request", "adherence control: %s" % e)

    async def h_sim_truth_ewt(self, req, p, tok):
        self.sync()
        out = dict(self.ewt)
        out["sim_time_ms"] = self.model.now
        out["real_time"] = time.time()
        return Response(200, out)

    async def h_sim_truth_mos(self, req, p, tok):
        self.sync()
        gran = parse_duration_ms(req.q1("granularity", "PT5M"))
        n = int(req.q1("buckets", "12"))
        return Response(200, self.mos.truth(gran, n, self.model.now))

    def _users_from_filter(self, flt):
        ids = filter_values(flt, "userId")
        if not ids:
            raise ApiError(400, "bad.request", "a userId filter is required by the simulator")
        if len(ids) > 100:
            raise ApiError(400, "bad.request",
                           "A single query may contain no more than 100 userId predicates",
                           {"max": 100})
        compile_filter(flt, {"userId", "mediaType"})
        out = []
        seen = set()
        # deleted users asked for: their time is none of the buckets' (README)
        asked = sum(1 for x in ids if x in self.model.deleted_ids)
        if asked:
            self.stats["users_query_deleted"] = self.stats.get("users_query_deleted", 0) + asked
        for x in ids:
            a = self.model.agent_by_id.get(x) or self.model.former_by_id.get(x)
            if a is not None and a.idx not in seen:
                seen.add(a.idx)
                out.append(a)
        return out

    async def h_user_agg(self, req, p, tok):
        body = req.json()
        start, end, gran, metrics, gb = self._agg_common(body, {"userId"}, "users")
        allowed = getattr(self.opts, "user_granularities", None)
        if allowed and body.get("granularity") not in allowed.split(","):
            # which ones Genesys takes is not in the record (README, Evidence:
            # deactivated users): a test chooses
            raise ApiError(400, "bad.request", "granularity %s is not supported by the "
                           "users aggregates query" % body.get("granularity"))
        agents = self._users_from_filter(body.get("filter"))
        model = self.model
        results = []
        for a in agents:
            data = []
            bs = start
            while bs < end and bs < model.now:
                be = min(end, bs + gran)
                d = model.user_durations(a, bs, be)
                ms = []
                for m in metrics:
                    if m == "tAgentRoutingStatus":
                        src = d["routing"]
                    elif m in ("tSystemPresence", "tOrganizationPresence"):
                        src = d["presence"]
                    else:
                        continue
                    if m == "tOrganizationPresence":
                        src = d["org_presence"]
                    for qual, v in sorted(src.items()):
                        if v > 0:
                            ms.append({"metric": m, "qualifier": qual, "stats": {"sum": v}})
                if ms:
                    data.append({"interval": M.iso(bs) + "/" + M.iso(be), "metrics": ms})
                bs += gran
            if data:
                results.append({"group": {"userId": a.id}, "data": data})
        return Response(200, {"systemToOrganizationMappings": self._mappings(),
                              "results": results})

    async def h_user_obs(self, req, p, tok):
        body = req.json()
        if not isinstance(body, dict) or not body.get("metrics"):
            raise ApiError(400, "bad.request", "metrics is required")
        bad = [m for m in body["metrics"] if m not in ("oActiveQueues", "oMemberQueues")]
        if bad:
            raise ApiError(400, "bad.request", "Invalid metric(s): %s" % ",".join(bad))
        agents = self._users_from_filter(body.get("filter"))
        res = []
        for a in agents:
            data = []
            if "oActiveQueues" in body["metrics"]:
                data.append({"metric": "oActiveQueues", "stats": {"count": len(a.joined)}})
            if "oMemberQueues" in body["metrics"]:
                data.append({"metric": "oMemberQueues", "stats": {"count": len(a.members)}})
            res.append({"group": {"userId": a.id}, "data": data})
        return Response(200, {"results": res})

    async def h_flow_obs(self, req, p, tok):
        body = req.json()
        if not isinstance(body, dict) or not body.get("metrics"):
            raise ApiError(400, "bad.request", "metrics is required")
        bad = [m for m in body["metrics"] if m != "oFlow"]
        if bad:
            raise ApiError(400, "bad.request", "Invalid metric(s): %s" % ",".join(bad))
        flt = body.get("filter")
        pred = compile_filter(flt, {"flowId", "mediaType"})
        ids = filter_values(flt, "flowId")
        model = self.model
        fl = [model.flow_by_id[x] for x in ids if x in model.flow_by_id] if ids else model.flows
        res = []
        for f in fl:
            if pred({"flowId": f.id, "mediaType": "voice"}):
                res.append({"group": {"flowId": f.id, "mediaType": "voice"},
                            "data": [{"metric": "oFlow", "stats": {"count": f.active}}]})
        return Response(200, {"results": res})

    # ---------------------------------------------------------------- notifications
    def _channel(self, p, tok):
        ch = self.channels.get(p["channelId"])
        if ch is None or ch.client != tok.client:
            raise ApiError(404, "not.found", "Channel %s not found" % p["channelId"])
        return ch

    async def h_ch_create(self, req, p, tok):
        mine = [c for c in self.channels.values() if c.client == tok.client]
        if len(mine) >= self.opts.max_channels:
            idle = [c for c in mine if c.ws is None]
            victim = min(idle or mine, key=lambda c: c.last_used)
            self.delete_channel(victim, 1000, "channel limit reached")
            self.stats["channels_evicted"] += 1
        cid = "streaming-%d-%s" % (len(self.channels) % 10, secrets.token_hex(12))
        ch = Channel(cid, tok.value, tok.client, self.opts.channel_ttl)
        self.channels[cid] = ch
        self.stats["channels_created"] += 1
        return Response(200, ch.as_json(self.base_ws))

    async def h_ch_list(self, req, p, tok):
        inc = (req.q1("includechannels", "token") or "token").lower()
        chs = [c for c in self.channels.values() if c.client == tok.client
               and (inc == "oauthclient" or c.token == tok.value)]
        return Response(200, {"entities": [c.as_json(self.base_ws) for c in chs]})

    async def h_ch_head(self, req, p, tok):
        ch = self.channels.get(p["channelId"])
        if ch is None or ch.client != tok.client:
            return Response(404)
        return Response(200)

    def _validate_topics(self, body, ignore_errors):
        if not isinstance(body, list):
            raise ApiError(400, "bad.request", "body must be a list of ChannelTopic")
        ok, rejected = [], []
        model = self.model
        for item in body:
            tid = item.get("id") if isinstance(item, dict) else None
            reason = None
            if not isinstance(tid, str):
                reason = "missing topic id"
            else:
                for rx, kind in TOPIC_RES:
                    m = rx.match(tid)
                    if m:
                        if kind == "queue" and m.group(1) not in model.queue_by_id:
                            reason = "Unknown queue id"
                        elif kind == "user" and m.group(1) not in model.agent_by_id:
                            reason = "Unknown user id"
                        elif kind == "flow" and m.group(1) not in model.flow_by_id:
                            reason = "Unknown flow id"
                        elif kind == "unit" and m.group(1) not in self.adherence.unit_by_id:
                            reason = "Unknown management unit id"
                        elif kind == "campaign" and m.group(1) not in self.campaigns.by_id:
                            reason = "Unknown campaign id"
                        break
                else:
                    reason = "Unknown or unsupported topic"
            if reason:
                rejected.append({"id": tid, "state": "Rejected", "rejectionReason": reason})
            else:
                ok.append(tid)
        if rejected and not ignore_errors:
            raise ApiError(400, "bad.request", "Invalid topic(s): %s" % ", ".join(
                str(r["id"]) for r in rejected[:5]),
                details=[{"errorCode": "invalid.topic", "fieldName": "id",
                          "entityId": r["id"]} for r in rejected])
        return ok, rejected

    def _set_topics(self, ch, topics):
        subs = self.hub.subs
        new = dict.fromkeys(topics)
        for t in ch.topics:
            if t not in new:
                s = subs.get(t)
                if s:
                    s.discard(ch)
                    if not s:
                        del subs[t]
        for t in new:
            subs.setdefault(t, set()).add(ch)
            if t.startswith("v2.analytics.queues."):
                q = self.model.queue_by_id.get(t.split(".")[3])
                if q is not None:
                    for m in [None] + q.media:
                        self.hub.queue_dirty(q.idx, m)
            elif t.startswith("v2.users.") and t.endswith(".activity"):
                a = self.model.agent_by_id.get(t.split(".")[2])
                if a is not None:
                    self.model.summaries.subscribed(a, self.model.now)
        ch.topics = new
        ch.expires = time.time() + self.opts.channel_ttl
        ch.last_used = time.time()

    def _topics_resp(self, ch, rejected=()):
        ents = [{"id": t, "state": "Permitted",
                 "selfUri": "/api/v2/notifications/channels/%s/subscriptions" % ch.id}
                for t in ch.topics]
        return Response(200, {"entities": ents + list(rejected)})

    async def h_sub_get(self, req, p, tok):
        return self._topics_resp(self._channel(p, tok))

    async def _sub_change(self, req, p, tok, replace):
        ch = self._channel(p, tok)
        ign = (req.q1("ignoreErrors", "false") or "").lower() == "true"
        ok, rej = self._validate_topics(req.json(), ign)
        topics = ok if replace else list(ch.topics) + [t for t in ok if t not in ch.topics]
        if len(set(topics)) > self.opts.max_topics:
            raise ApiError(400, "bad.request",
                           "Channel subscriptions are limited to %d topics (requested %d)"
                           % (self.opts.max_topics, len(set(topics))),
                           {"max": self.opts.max_topics})
        self._set_topics(ch, topics)
        return self._topics_resp(ch, rej)

    async def h_sub_add(self, req, p, tok):
        return await self._sub_change(req, p, tok, False)

    async def h_sub_put(self, req, p, tok):
        return await self._sub_change(req, p, tok, True)

    async def h_sub_del(self, req, p, tok):
        ch = self._channel(p, tok)
        self._set_topics(ch, [])
        return Response(200, {"entities": []})

    async def h_topics(self, req, p, tok):
        ents = [
            {"id": "v2.analytics.queues.{id}.observations", "transports": ["All"]},
            {"id": "v2.routing.queues.{id}.conversations", "transports": ["All"]},
            {"id": "v2.users.{id}.activity", "transports": ["All"]},
            {"id": "v2.users.{id}.presence", "transports": ["All"]},
            {"id": "v2.users.{id}.routingStatus", "transports": ["All"]},
            {"id": "v2.analytics.flow.{id}.metrics", "transports": ["All"]},
            {"id": "v2.detail.events.conversation.{id}.attributes", "transports": ["All"]},
        ]
        for e in ents:
            e.update({"description": "simulated", "visibility": "Public",
                      "requiresPermissions": [], "enforced": False})
        return Response(200, {"entities": ents})

    # ---------------------------------------------------------------- websocket
    async def h_ws(self, req, p, reader, writer):
        if req.header("upgrade", "").lower() != "websocket" or not req.header("sec-websocket-key"):
            return Response(426, error_body(426, "upgrade.required",
                                            "WebSocket upgrade required"))
        ch = self.channels.get(p["channelId"])
        if ch is None:
            self.stats["ws_upgrades_unknown_channel"] += 1
            return Response(404, error_body(404, "not.found", "Channel not found"))
        writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
                      % ws_accept_key(req.header("sec-websocket-key"))).encode())
        st = self.stats
        st["requests_total"] += 1
        e = st["requests"].setdefault("GET /channels/{channelId}", {"total": 0, "by_status": {}})
        e["total"] += 1
        e["by_status"]["101"] = e["by_status"].get("101", 0) + 1
        if ch.ws is not None:
            st["sockets_replaced"] += 1
            ch.ws.close(1000, "channel in use by another connection")
        ws = WsConn(self, reader, writer, ch)
        ch.ws = ws
        ch.last_used = time.time()
        self.sockets.add(ws)
        st["sockets_total"] += 1
        # baseline: queued observation groups go out on the next flush
        for t in ch.topics:
            if t.startswith("v2.analytics.queues."):
                q = self.model.queue_by_id.get(t.split(".")[3])
                if q is not None:
                    for m in [None] + q.media:
                        self.hub.queue_dirty(q.idx, m)
        await self.ws_loop(ws)
        return None

    async def ws_loop(self, ws):
        buf = bytearray()
        op0 = None
        try:
            while not ws.closed:
                fin, op, data = await ws_read_frame(ws.reader, True, self.opts.ws_max_in)
                if op == OP_PING:
                    self.stats["ws_control_pings"] += 1
                    ws.send_frame(ws_frame(OP_PONG, data))
                    continue
                if op == OP_PONG:
                    continue
                if op == OP_CLOSE:
                    code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1000
                    ws.close(code if code not in (1005, 1006) else 1000)
                    break
                if op in (OP_TEXT, OP_BIN):
                    if op0 is not None:
                        raise WsProtocolError(1002, "new message inside a fragmented one")
                    op0 = op
                    buf = bytearray(data)
                elif op == OP_CONT:
                    if op0 is None:
                        raise WsProtocolError(1002, "continuation without start")
                    buf += data
                else:
                    raise WsProtocolError(1002, "unknown opcode")
                if len(buf) > self.opts.ws_max_in:
                    raise WsProtocolError(1009, "message too big")
                if fin:
                    self.stats["ws_messages_received"] += 1
                    self.ws_message(ws, bytes(buf))
                    buf = bytearray()
                    op0 = None
        except WsProtocolError as e:
            ws.close(e.code, str(e))
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            # Every way out ends the connection and takes it off the open
            # ones (abort and close both detach; detaching twice is no harm).
            if not ws.closed:
                ws.abort()
            ws._detach()

    def ws_message(self, ws, data):
        try:
            m = json.loads(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return
        if isinstance(m, dict) and m.get("message") == "ping":
            self.stats["ws_json_pings"] += 1
            self.stats["pongs_sent"] += 1
            ws.send_json({"topicName": "channel.metadata", "eventBody": {"message": "pong"}},
                         "channel.metadata")
        if ws.channel is not None:
            ws.channel.last_used = time.time()

    # ---------------------------------------------------------------- sim endpoints
    async def h_sim_truth(self, req, p, tok):
        self.sync()
        gran = parse_duration_ms(req.q1("granularity", "PT5M"))
        n = int(req.q1("buckets", "12"))
        qids = req.qall("queues") or None
        self.model.synth_store.unattributed = self.forms["unattributed"] == "org"
        t = self.model.truth(gran, n, qids, include_agents=req.q1("agents") == "1",
                             include_users=req.q1("users") == "1")
        t["real_time"] = now_iso_real()
        t["speed"] = self.clock.speed
        t["eventbridge"] = self.eb.stats if self.eb else None
        return Response(200, t)

    def _int_param(self, req, name, default=None, low=0):
        v = req.q1(name)
        if v is None:
            if default is None:
                raise ApiError(400, "bad.request", "%s is required" % name)
            return default
        try:
            n = int(v)
        except ValueError:
            raise ApiError(400, "bad.request", "%s must be an integer" % name)
        if n < low:
            raise ApiError(400, "bad.request", "%s must be >= %d" % (name, low))
        return n

    async def h_sim_truth_summaries(self, req, p, tok):
        """Min, max and time-weighted mean of every live gauge per closed
        window, from what was served (README, "Summaries truth")."""
        self.sync()
        model = self.model
        rec = model.summaries
        now = model.now
        w = self._int_param(req, "window_ms", low=1)
        first = rec.first_ms()
        frm = self._int_param(req, "from_ms", now if first is None else first)
        to = min(self._int_param(req, "to_ms", now), now)
        tol = self._int_param(req, "tolerance_ms", 0)
        offset = self._int_param(req, "offset_ms", 0, low=-86400000)
        windows = max(0, to // w - (-(-frm // w)))
        if windows > 100000:
            raise ApiError(400, "bad.request", "%d windows; at most 100000" % windows)
        # encoded a thousand rows at a time, letting the model run between
        chunks, parts, count = [], [], 0
        for r in rec.rows(w, frm, to, tol, req.qall("queues") or None, offset):
            parts.append(json.dumps(r, **J))
            if len(parts) == 1000:
                count += len(parts)
                if count > SUMMARY_ROWS_MAX:
                    raise ApiError(400, "bad.request", "more than %d summaries: narrow the "
                                   "range or name queues" % SUMMARY_ROWS_MAX)
                chunks.append(",".join(parts).encode())
                parts = []
                await asyncio.sleep(0)
        if parts:
            chunks.append(",".join(parts).encode())
        head = json.dumps({"sim_time_ms": now, "window_ms": w, "from_ms": frm, "to_ms": to,
                           "tolerance_ms": tol, "windows": windows}, **J)
        body = [head[:-1].encode(), b',"summaries":[']
        for i, c in enumerate(chunks):
            body += [b",", c] if i else [c]
        body = b"".join(body + [b"]}"])
        return Response(200, body, headers=[("Content-Type", "application/json")])

    async def h_sim_truth_timelines(self, req, p, tok):
        """The recorded change points behind the summaries."""
        self.sync()
        return Response(200, {"sim_time_ms": self.model.now,
                              "series": self.model.summaries.timelines(
                                  req.qall("queues") or None)})

    def stats_snapshot(self):
        st = dict(self.stats)
        st["channels_alive"] = len(self.channels)
        st["sockets_open"] = len(self.sockets)
        st["subscriptions"] = {c.id: len(c.topics) for c in self.channels.values()}
        st["topics_subscribed"] = len(self.hub.subs)
        clients = {}
        for c in self.channels.values():
            e = clients.setdefault(c.client, {"channels": 0, "topics": 0})
            e["channels"] += 1
            e["topics"] += len(c.topics)
        st["channels_by_client"] = clients
        st["tokens_valid"] = sum(1 for t in self.tokens.values()
                                 if not t.revoked and t.expires > time.time())
        st["faults"] = self.faults.describe()
        st["model_events"] = self.model.events_processed
        st["sim_time"] = M.iso(self.model.now)
        st["eventbridge"] = self.eb.stats if self.eb else None
        try:
            with open("/proc/self/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
            tck = os.sysconf("SC_CLK_TCK")
            st["cpu_seconds"] = (int(parts[11]) + int(parts[12])) / tck
            st["rss_mb"] = int(parts[21]) * os.sysconf("SC_PAGE_SIZE") / 1048576
        except (OSError, IndexError, ValueError):
            pass
        return st

    async def h_sim_stats(self, req, p, tok):
        return Response(200, self.stats_snapshot())

    async def h_sim_reset_stats(self, req, p, tok):
        self.stats = new_stats()
        return Response(200, {"reset": True})

    async def h_sim_faults(self, req, p, tok):
        body = req.json()
        items = body if isinstance(body, list) else [body]
        return Response(200, {"results": [self.faults.add(x) for x in items]})

    async def h_sim_faults_get(self, req, p, tok):
        return Response(200, self.faults.describe())

    async def h_sim_eb(self, req, p, tok):
        body = req.json()
        if not isinstance(body, dict) or "url" not in body:
            raise ApiError(400, "bad.request", "url required")
        if self.eb:
            self.eb.stop()
        self.eb = EventBridge(self, body)
        return Response(200, {"configured": True, "url": body["url"]})

    async def h_sim_eb_get(self, req, p, tok):
        return Response(200, self.eb.stats if self.eb else {"configured": False})

    async def h_sim_eb_del(self, req, p, tok):
        if self.eb:
            self.eb.stop()
        self.eb = None
        return Response(200, {"configured": False})

    async def h_sim_forms_get(self, req, p, tok):
        return Response(200, {"forms": dict(self.forms),
                              "choices": {k: list(v) for k, v in FORMS.items()}})

    async def h_sim_forms(self, req, p, tok):
        return Response(200, self.set_forms(req.json()))

    async def h_sim_info(self, req, p, tok):
        m = self.model
        return Response(200, {"base_url": self.base_http, "ws_base": self.base_ws,
                              "sim_time": M.iso(m.now), "speed": self.clock.speed,
                              "seed": m.seed, "queues": len(m.queues), "agents": len(m.agents),
                              "flows": len(m.flows), "org_id": m.org_id,
                              "arrival_rate_per_sim_s": getattr(m, "arrival_rate", 0),
                              "client_id": self.opts.client_id, "ca": self.ca_path,
                              "forms": dict(self.forms)})

    # ---------------------------------------------------------------- server
    async def serve_conn(self, reader, writer):
        self.stats["tcp_connections"] += 1
        try:
            while True:
                try:
                    req = await read_request(reader, writer)
                except HttpError as e:
                    writer.write(Response(e.status, {"error": str(e)}).encode(keep_alive=False))
                    break
                except (asyncio.IncompleteReadError, ConnectionError, ValueError):
                    break
                if req is None:
                    break
                resp = await self.handle_http(req, reader, writer)
                if resp is None:
                    return
                if resp.action == "stall":
                    await asyncio.sleep(resp.arg)
                    writer.transport.abort()
                    return
                if resp.action == "abort":
                    writer.transport.abort()
                    return
                writer.write(resp.encode(head_only=req.method == "HEAD",
                                         keep_alive=req.keep_alive))
                await writer.drain()
                if not req.keep_alive:
                    break
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    async def start(self):
        self.server = await asyncio.start_server(
            self.serve_conn, self.opts.host, self.opts.port, ssl=self.tls_ctx,
            limit=256 * 1024, backlog=512)
        self.port = self.server.sockets[0].getsockname()[1]
        loop = asyncio.get_event_loop()
        self.tasks = [loop.create_task(self.ticker()), loop.create_task(self.housekeeping())]

    async def ticker(self):
        lag_avg = 0.0
        while True:
            t0 = time.monotonic()
            try:
                self.sync()
                self.hub.flush_observations()
                # the campaigns move (and publish) between requests too
                self.campaigns.advance(self.model.now, self.model.frozen)
            except Exception as e:      # keep serving; report
                print("gensim: model error: %r" % e, file=sys.stderr)
                import traceback
                traceback.print_exc()
            t1 = time.monotonic()
            await asyncio.sleep(self.opts.tick)
            # event-loop lag: how late the tick came back (ms)
            lag = (time.monotonic() - t1 - self.opts.tick) * 1000
            lag_avg = 0.95 * lag_avg + 0.05 * lag
            st = self.stats
            st["loop_lag_ms_avg"] = round(lag_avg, 2)
            st["loop_lag_ms_max"] = round(max(st.get("loop_lag_ms_max", 0), lag), 2)
            st["tick_work_ms_max"] = round(max(st.get("tick_work_ms_max", 0),
                                               (t1 - t0) * 1000), 2)

    async def housekeeping(self):
        last_prune = time.monotonic()
        while True:
            await asyncio.sleep(min(0.25, self.opts.heartbeat / 4))
            now = time.monotonic()
            wall = time.time()
            # heartbeats
            if now >= self.faults.hb_stopped_until:
                for ws in list(self.sockets):
                    if now - ws.last_hb >= self.opts.heartbeat:
                        ws.last_hb = now
                        self.stats["heartbeats_sent"] += 1
                        ws.send_json({"topicName": "channel.metadata",
                                      "eventBody": {"message": "WebSocket Heartbeat"}},
                                     "channel.metadata")
            else:
                for ws in self.sockets:
                    ws.last_hb = now
            # channel expiry, token expiry
            for ch in list(self.channels.values()):
                t = self.tokens.get(ch.token)
                if wall >= ch.expires:
                    self.delete_channel(ch, 1000, "channel expired")
                    self.stats["channels_expired"] += 1
                elif t is None or t.revoked or wall >= t.expires:
                    self.delete_channel(ch, 1000, "token expired")
                    self.stats["channels_deleted_token"] += 1
            self.faults.gc()
            if now - last_prune > 60:
                last_prune = now
                self.model.prune()
                for k in [k for k, t in self.tokens.items()
                          if t.expires < wall - 3600]:
                    del self.tokens[k]
