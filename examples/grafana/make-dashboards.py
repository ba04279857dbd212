#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the generated Grafana dashboards of examples/grafana/: one per media
type (genesys-media-<media>.json: voice, chat, email, message, callback), the
data actions one (genesys-data-actions.json), call quality
(genesys-call-quality.json), telephony (genesys-telephony.json), the API
usage per OAuth client (genesys-api-usage.json), first-contact resolution
(genesys-resolutions.json), bot containment (genesys-bots.json) and speech and
text analytics (genesys-speech.json).

The five media dashboards come from one source so that they stay alike: the
same service panels (volumes, service level, over-SLA, abandons, errors,
durations, live queues) with the media type fixed, plus the panels that only
make sense for that media (outbound dialing for voice, response times and
message counts for chat and message, callbacks for callback). A media
variable on one dashboard would hide which panels mean something for which
media; five files let a wallboard open on one media with a link.

Usage: python3 examples/grafana/make-dashboards.py [--check]
  --check: exit 1 if a committed dashboard differs from what this writes
  (tests/e2e/test_docs.py runs it)."""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
from generated import write_or_check  # noqa: E402
DS = {"type": "prometheus", "uid": "${datasource}"}
A = "collectd_genesys_analytics_"
F = "collectd_genesys_flowmetrics_"
MEDIA = ["voice", "chat", "email", "message", "callback"]
METRIC_NOTE = ('Needs Metric "all" (or these measures by name) in the '
               "<Org> of genesys_analytics.")


# ---- expressions ------------------------------------------------------------

def sel(media, measure=None):
    """The label matchers of one media type (and GroupBy suffixes), or of a
    duration measure of it."""
    ti = f"{media}(-.+)?" if measure is None else f"{measure}-{media}(-.+)?"
    return f'{{instance="$org",genesys_analytics=~"$queue",type=~"{ti}"}}'


def increase(metric, selector, rng, by=""):
    """increase() of a counter over rng, summed."""
    return f"sum{by} (increase({metric}{selector}[{rng}]))"


def inc(media, name, rng, by=""):
    """increase() of a count's counter total_<name>, summed."""
    return increase(f"{A}total_{name}_total", sel(media), rng, by)


def ratio(media, num, den, rng, by=""):
    return f"{inc(media, num, rng, by)} / {inc(media, den, rng, by)}"


def avg_duration(media, measure, rng, by=""):
    """Average of a duration measure in seconds over rng, from its counters."""
    s = sel(media, measure)
    return (f"{increase(A + 'total_duration_ms_total', s, rng, by)} / "
            f"{increase(A + 'total_duration_count_total', s, rng, by)} / 1000")


def bucket(media, name, by=""):
    """A count's own value per closed bucket (gauge)."""
    return f"sum{by} ({A}{name}{sel(media)})"


def org_sel(media):
    """The label matchers of one media type of the counts Genesys attributes
    to no queue (plugin_instance "org")."""
    return f'{{instance="$org",genesys_analytics="org",type=~"{media}(-.+)?"}}'


def org_bucket(media, name):
    """A count of no queue per closed bucket."""
    return f"sum ({A}{name}{org_sel(media)})"


# ---- panels -----------------------------------------------------------------

class Board:
    def __init__(self):
        self.panels = []
        self.x = self.y = self.row_h = 0

    def add(self, kind, title, targets, w, h, description, unit=None, extra=None):
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        instant = kind in ("stat", "table", "bargauge")
        panel = {
            "id": len(self.panels) + 1, "type": kind, "title": title, "datasource": DS,
            "gridPos": {"x": self.x, "y": self.y, "w": w, "h": h},
            "targets": [dict({"refId": chr(ord("A") + i), "datasource": DS,
                              "editorMode": "code", "range": not instant, "expr": expr},
                             **({"instant": True} if instant else {}),
                             **({"legendFormat": legend} if legend else {}))
                        for i, (expr, legend) in enumerate(targets)],
            "fieldConfig": {"defaults": dict({"unit": unit} if unit else {},
                                             **(extra or {})), "overrides": []},
            "options": ({"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                           "values": False},
                         "colorMode": "value", "graphMode": "none"}
                        if kind == "stat" else {}),
            "description": description,
        }
        if kind == "table":
            panel["transformations"] = [{"id": "merge", "options": {}}]
        self.panels.append(panel)
        self.x += w
        self.row_h = max(self.row_h, h)

    def newline(self):
        if self.x:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0

    def stat(self, title, expr, description, unit=None, w=4):
        self.add("stat", title, [(expr, None)], w, 5, description, unit)

    def series(self, title, targets, description, unit=None, w=12, bars=False):
        extra = {"custom": {"drawStyle": "bars", "fillOpacity": 60}, "decimals": 0} \
            if bars else None
        self.add("timeseries", title, targets, w, 8, description, unit, extra)


def variable(name, label, query, all_values):
    v = {"name": name, "label": label, "type": "query", "datasource": DS,
         "query": {"query": query, "refId": f"{name}-variable"}, "definition": query,
         "refresh": 2, "sort": 1, "multi": all_values, "includeAll": all_values,
         "current": {}, "hide": 0, "options": [], "regex": ""}
    if all_values:
        v["allValue"] = ".+"
    return v


def org_and_entity(metric, name, label, entity_label):
    """The org variable and a multi-valued entity variable (entity_label's
    values within the org), both from the series of one metric."""
    return [variable("org", "Org", f"label_values({metric}, instance)", False),
            variable(name, label,
                     f'label_values({metric}{{instance="$org"}}, {entity_label})', True)]


def dashboard(uid, title, description, tags, variables, board, links=()):
    return {
        "uid": uid, "title": title, "description": description,
        "tags": ["genesys", "collectd"] + tags, "editable": True, "graphTooltip": 1,
        "schemaVersion": 38, "version": 1, "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"}, "timezone": "", "timepicker": {},
        "annotations": {"list": []}, "links": list(links),
        "templating": {"list": [{"name": "datasource", "label": "Prometheus",
                                 "type": "datasource", "query": "prometheus",
                                 "current": {}, "hide": 0, "refresh": 1, "options": [],
                                 "regex": ""}] + variables},
        "panels": board.panels,
    }


# ---- the media dashboards ---------------------------------------------------

def durations_panel(b, m, measures, title, description):
    b.series(title, [(avg_duration(m, measure, "30m"), label) for measure, label in measures],
             description + " Average over the 30 minutes before each point, from the "
             "total_duration_ms / total_duration_count counters.", unit="s")


def counts_panel(b, m, names, title, description):
    b.series(title, [(bucket(m, n), label) for n, label in names],
             description + " The closed buckets' own counts (gauges, timestamped at the "
             "bucket end), summed over the selected queues.", bars=True)


def media_specific(b, m):
    """The panels of one media type only."""
    if m == "voice":
        b.newline()
        b.stat("Outbound attempted", inc(m, "outbound_attempted", "$__range"),
               "Outbound dial attempts (nOutboundAttempted) over the range. " + METRIC_NOTE)
        b.stat("Outbound connected", inc(m, "outbound_connected", "$__range"),
               "Outbound attempts that reached the party (nOutboundConnected). " + METRIC_NOTE)
        b.stat("Outbound abandon rate",
               ratio(m, "outbound_abandoned", "outbound_connected", "$__range"),
               "Outbound calls the dialer connected and nobody took (nOutboundAbandoned), "
               "over those connected: the figure dialing regulations cap (often 3 %). "
               + METRIC_NOTE, unit="percentunit")
        b.stat("Average IVR time", avg_duration(m, "ivr", "$__range"),
               "Time in IVR flows per call (tIvr). " + METRIC_NOTE, unit="s")
        b.stat("Average hold", avg_duration(m, "hold", "$__range"),
               "Time on hold per held call (tHeld).", unit="s")
        b.stat("Transfers", inc(m, "transferred", "$__range"),
               "Calls transferred (nTransferred) over the range.", w=4)
        counts_panel(b, m, [("outbound_attempted", "attempted"),
                            ("outbound_connected", "connected"),
                            ("outbound_abandoned", "abandoned")],
                     "Outbound dialing per bucket", "Dialer attempts, connects and abandons. "
                     + METRIC_NOTE)
        durations_panel(b, m, [("dialing", "dialing"), ("contacting", "contacting"),
                               ("first_dial", "first dial")],
                        "Outbound dialing times",
                        "tDialing, tContacting and tFirstDial. " + METRIC_NOTE)
        counts_panel(b, m, [("transferred", "transferred"),
                            ("blind_transferred", "blind"),
                            ("consult_transferred", "consult"), ("consult", "consults")],
                     "Transfers and consults per bucket",
                     "nTransferred, nBlindTransferred, nConsultTransferred, nConsult. "
                     + METRIC_NOTE)
        durations_panel(b, m, [("ivr", "IVR"), ("acd", "ACD"), ("park", "park"),
                               ("voicemail", "voicemail")],
                        "IVR, ACD, park and voicemail times",
                        "tIvr, tAcd, tPark, tVoicemail. " + METRIC_NOTE)
    elif m in ("chat", "message"):
        b.newline()
        b.stat("First response", avg_duration(m, "first_response", "$__range"),
               "Average time to the agent's first response (tFirstResponse). "
               + METRIC_NOTE, unit="s")
        b.stat("Agent response time", avg_duration(m, "agent_response_time", "$__range"),
               "Average time the agent took to answer a customer message "
               "(tAgentResponseTime). " + METRIC_NOTE, unit="s")
        b.stat("Customer response time",
               avg_duration(m, "average_customer_response_time", "$__range"),
               "Average time customers took to answer (tAverageCustomerResponseTime). "
               + METRIC_NOTE, unit="s")
        b.stat("Bot interactions (org)",
               increase(f"{A}total_bot_interactions_total", org_sel(m), "$__range"),
               "Conversations a bot handled (nBotInteractions), of the whole org: "
               "Genesys attributes them to no queue. " + METRIC_NOTE)
        b.stat("Takeovers", inc(m, "takeover", "$__range"),
               "Agent takeovers of a bot conversation (nTakeover). " + METRIC_NOTE)
        b.stat("Messages", inc(m, "message_count", "$__range"),
               "Messages counted (oMessageCount observations). " + METRIC_NOTE)
        durations_panel(b, m, [("first_response", "first response"),
                               ("agent_response_time", "agent response"),
                               ("average_customer_response_time", "customer response"),
                               ("first_engagement", "first engagement")],
                        "Response times", "tFirstResponse, tAgentResponseTime, "
                        "tAverageCustomerResponseTime, tFirstEngagement. " + METRIC_NOTE)
        counts_panel(b, m, [("message_count", "messages"), ("message_turn", "turns"),
                            ("media_count", "media"), ("takeover", "takeover")],
                     "Messages, media, takeovers per bucket",
                     "oMessageCount, oMessageTurn, oMediaCount (observations), "
                     "nTakeover. " + METRIC_NOTE)
    elif m == "email":
        b.newline()
        b.stat("Average wait", avg_duration(m, "wait", "$__range"),
               "Time emails waited in queue before an agent took them (tWait).", unit="s",
               w=6)
        b.stat("Average after-work", avg_duration(m, "acw", "$__range"),
               "After-contact work per email (tAcw).", unit="s", w=6)
        b.stat("Transferred", inc(m, "transferred", "$__range"),
               "Emails transferred (nTransferred) over the range.", w=6)
        b.stat("Transfer rate", ratio(m, "transferred", "answered", "$__range"),
               "Transferred / answered over the range.", unit="percentunit", w=6)
        durations_panel(b, m, [("wait", "wait"), ("answer", "to answer"),
                               ("handle", "handle"), ("acw", "after-work")],
                        "Email times", "tWait, tAnswered, tHandle, tAcw.")
        counts_panel(b, m, [("transferred", "transferred"), ("over_sla", "over SLA")],
                     "Transferred and over SLA per bucket", "nTransferred and nOverSla.")
    elif m == "callback":
        b.newline()
        b.stat("Callback service level",
               ratio(m, "callback_service_level_numerator",
                     "callback_service_level_denominator", "$__range"),
               "Callbacks placed within their service level (oCallbackServiceLevel "
               "numerator / denominator). " + METRIC_NOTE, unit="percentunit")
        b.stat("Callbacks scheduled", inc(m, "callback_scheduled", "$__range"),
               "Callbacks scheduled for later (nCallbackScheduled). " + METRIC_NOTE)
        b.stat("Callback attempts", inc(m, "callback_attempts", "$__range"),
               "Dial attempts of callbacks (nCallbackAttempts). " + METRIC_NOTE)
        b.stat("Callbacks over SLA", inc(m, "callback_over_sla", "$__range"),
               "Callbacks past their service level (nCallbackOverSla). " + METRIC_NOTE)
        b.stat("Callback connect time", avg_duration(m, "callback_connect", "$__range"),
               "Average time to connect the callback (tCallbackConnect). " + METRIC_NOTE,
               unit="s")
        b.stat("Not reached time", avg_duration(m, "callback_not_reached", "$__range"),
               "Average time of callbacks that did not reach the customer "
               "(tCallbackNotReached). " + METRIC_NOTE, unit="s")
        counts_panel(b, m, [("callback_attempts", "attempts"),
                            ("callback_scheduled", "scheduled"),
                            ("callback_over_sla", "over SLA")],
                     "Callbacks per bucket", "nCallbackAttempts, nCallbackScheduled, "
                     "nCallbackOverSla. " + METRIC_NOTE)
        durations_panel(b, m, [("callback_connect", "connect"),
                               ("callback_abandon", "abandon"),
                               ("callback_not_reached", "not reached"),
                               ("callback_virtual_wait", "virtual wait"),
                               ("active_callback", "active callback")],
                        "Callback times", "tCallbackConnect, tCallbackAbandon, "
                        "tCallbackNotReached, tCallbackVirtualWait, tActiveCallback. "
                        + METRIC_NOTE)
        # The funnel: Genesys defines none of these metrics in the public
        # record (tests/sim/README.md, Callback funnel): the steps are their
        # names' reading, said so on the panels.
        unconfirmed = ("Genesys publishes no definition of these metrics (UNCONFIRMED, "
                       "read from their names: tests/sim/README.md, Callback funnel). ")

        def ended(measure, media_re):
            s = ('{instance="$org",genesys_analytics=~"$queue",'
                 f'type=~"{measure}-{media_re}(-.+)?"}}')
            return increase(f"{A}total_duration_count_total", s, "$__range")
        b.add("bargauge", "Callback funnel over the range",
              [(inc(m, "offered", "$__range"), "offered"),
               (inc(m, "callback_scheduled", "$__range"), "scheduled"),
               (inc(m, "callback_attempts", "$__range"), "dial attempts"),
               (ended("callback_connect", m), "connected"),
               (ended("callback_not_reached", m), "not reached"),
               (ended("callback_abandon", m), "abandoned")],
              12, 8, unconfirmed + "Callbacks offered to the selected queues (nOffered), "
              "scheduled for later (nCallbackScheduled), dial attempts "
              "(nCallbackAttempts), and the callbacks that connected, did not reach the "
              "customer or were abandoned (the counts of tCallbackConnect, "
              "tCallbackNotReached, tCallbackAbandon). " + METRIC_NOTE)
        cfc = "(voice|callback)"
        b.add("bargauge", "Customer-first callbacks over the range",
              [(increase(f"{A}total_cfc_offered_total",
                         f'{{instance="$org",genesys_analytics=~"$queue",type=~"{cfc}(-.+)?"}}',
                         "$__range"), "offered"),
               (ended("cfc_acd", cfc), "waited in queue"),
               (ended("cfc_answered", cfc), "answered"),
               (ended("cfc_abandon", cfc), "abandoned"),
               (ended("cfc_flow_out", cfc), "left to a flow")],
              12, 8, unconfirmed + "The Cfc metrics (nCfcOffered, the counts of tCfcAcd, "
              "tCfcAnswered, tCfcAbandon, tCfcFlowOut) came in the same API release as "
              "oCallbackServiceLevel; that Cfc means customer-first callback, a queue's "
              "callback mode (CallbackMediaSettings mode CustomerFirst), is our reading, "
              "and so is the media type: Genesys treats them \"as inbound calls\", so "
              "voice and callback are both summed. " + METRIC_NOTE)


def media_dashboard(m):
    b = Board()
    b.stat("Offered", inc(m, "offered", "$__range"),
           f"{m.capitalize()} conversations offered to the queues (nOffered) over the "
           "range, from the counter total_offered.")
    b.stat("Answered", inc(m, "answered", "$__range"),
           "Answered by an agent (tAnswered count) over the range.")
    b.stat("Service level", ratio(m, "service_level_numerator",
                                  "service_level_denominator", "$__range"),
           "Answered within the queue's service-level target, as a share of those the "
           "target judges (oServiceLevel numerator / denominator) over the range.",
           unit="percentunit")
    b.stat("Over SLA", ratio(m, "over_sla", "offered", "$__range"),
           "Conversations over the service-level target (nOverSla) as a share of those "
           "offered, over the range (the GenesysOverSlaHigh alert).", unit="percentunit")
    b.stat("Abandon rate", ratio(m, "abandoned", "offered", "$__range"),
           "Abandoned (tAbandon count) / offered over the range.", unit="percentunit")
    b.stat("Average handle", avg_duration(m, "handle", "$__range"),
           "Handle time (tHandle) per handled conversation over the range.", unit="s")
    b.series("Offered, answered, abandoned per bucket",
             [(bucket(m, "offered"), "offered"), (bucket(m, "answered"), "answered"),
              (bucket(m, "abandoned"), "abandoned"),
              (bucket(m, "short_abandoned"), "short abandoned")],
             "The closed buckets' own counts (gauges, timestamped at the bucket end), "
             "summed over the selected queues. A queue with no conversation in a bucket "
             "sends nothing for it; the counters of the stats above are exact.",
             bars=True)
    b.series("Service level, over SLA and abandons per queue (30 min)",
             [(ratio(m, "service_level_numerator", "service_level_denominator", "30m",
                     " by (genesys_analytics)"), "{{genesys_analytics}} service level"),
              (ratio(m, "over_sla", "offered", "30m", " by (genesys_analytics)"),
               "{{genesys_analytics}} over SLA"),
              (ratio(m, "abandoned", "offered", "30m", " by (genesys_analytics)"),
               "{{genesys_analytics}} abandoned")],
             "Over the 30 minutes before each point, per queue, as the alerts compute "
             "them (GenesysServiceLevelBelowTarget, GenesysOverSlaHigh, "
             "GenesysAbandonRateHigh).", unit="percentunit")
    durations_panel(b, m, [("wait", "wait"), ("answer", "speed of answer"),
                           ("talk", "talk" if m == "voice" else "interact"),
                           ("acw", "after-work"), ("handle", "handle")],
                    "Wait, answer, handle times",
                    "tWait, tAnswered, tTalk, tAcw, tHandle.")
    b.series("Errored conversations and state-transition errors per bucket (org)",
             [(org_bucket(m, "error"), "errored"),
              (org_bucket(m, "state_transition_error"), "state-transition errors")],
             "nError (conversations that ended in an error) and "
             "nStateTransitionError (the platform refused a state change) of the whole "
             "org: Genesys attributes them to no queue (plugin_instance org); the "
             "GenesysConversationErrors and GenesysStateTransitionErrors alerts. "
             + METRIC_NOTE + " The closed buckets' own counts (gauges, timestamped at "
             "the bucket end).", bars=True)
    # genesys_realtime's type label is the media type alone
    rt = f'{{instance="$org",genesys_realtime=~"$queue",type="{m}"}}'
    b.series("Waiting and interacting now (genesys_realtime)",
             [(f"sum(collectd_genesys_realtime_waiting{rt})", "waiting"),
              (f"sum(collectd_genesys_realtime_interacting{rt})", "interacting"),
              (f"max(collectd_genesys_realtime_longest_waiting_seconds{rt})",
               "longest wait (s)")],
             f"Live {m} conversations in the selected queues from genesys_realtime (the "
             "queue names are the same in both plugins).")
    media_specific(b, m)
    b.newline()
    by = " by (genesys_analytics)"
    b.add("table", "Queues over the range",
          [(inc(m, "offered", "$__range", by), None),
           (inc(m, "answered", "$__range", by), None),
           (ratio(m, "service_level_numerator", "service_level_denominator", "$__range",
                  by), None),
           (ratio(m, "over_sla", "offered", "$__range", by), None),
           (ratio(m, "abandoned", "offered", "$__range", by), None),
           (avg_duration(m, "handle", "$__range", by), None)],
          24, 9, "Per queue over the range: offered, answered, service level, over-SLA "
          "share, abandon rate, average handle time (seconds).")
    links = [{"title": "Other media types", "type": "dashboards", "tags": ["genesys-media"],
              "asDropdown": True, "includeVars": True, "keepTime": True}]
    q = f'{A}total_offered_total{{instance="$org",type=~"{m}(-.+)?"}}'
    variables = [variable("org", "Org", f"label_values({A}total_offered_total, instance)",
                          False),
                 variable("queue", "Queue", f"label_values({q}, genesys_analytics)", True)]
    return dashboard(
        f"genesys-media-{m}", f"Genesys {m}: service, durations, errors",
        f"Queue performance of {m} conversations per closed interval from genesys_analytics "
        "(counters total_* over the range, gauges per bucket) and live queues from "
        "genesys_realtime, through write_prometheus. Generated by make-dashboards.py.",
        ["genesys-media", m], variables, b, links)


# ---- data actions -----------------------------------------------------------

def data_actions_dashboard():
    b = Board()
    s = '{instance="$org",genesys_flowmetrics=~"$action"}'
    d = '{instance="$org",genesys_flowmetrics=~"$action",type="action_execution"}'

    def inc_a(name, rng, by=""):
        return increase(f"{F}total_{name}_total", s, rng, by)

    def avg_a(rng, by=""):
        return (f"{increase(F + 'total_duration_ms_total', d, rng, by)} / "
                f"{increase(F + 'total_duration_count_total', d, rng, by)} / 1000")
    by = " by (genesys_flowmetrics)"
    b.stat("Executions", inc_a("action_executions", "$__range"),
           "Data action executions (tTotalExecution count) over the range.", w=6)
    b.stat("Failed", inc_a("action_errors", "$__range"),
           "Executions that ended with an error type over the range.", w=6)
    b.stat("Error rate", f'{inc_a("action_errors", "$__range")} / '
           f'{inc_a("action_executions", "$__range")}',
           "Failed / executions over the range.", unit="percentunit", w=6)
    b.stat("Average execution time", avg_a("$__range"),
           "Execution time per execution over the range (tTotalExecution sum / count).",
           unit="s", w=6)
    b.series("Executions per bucket per action",
             [(f"sum{by} ({F}action_executions{s})", "{{genesys_flowmetrics}}")],
             "Each closed bucket's executions (gauge action_executions, timestamped at "
             "the bucket end).", bars=True)
    b.series("Error rate per action (30 min)",
             [(f'{inc_a("action_errors", "30m", by)} / '
               f'{inc_a("action_executions", "30m", by)}', "{{genesys_flowmetrics}}")],
             "Failed / executions over the 30 minutes before each point.",
             unit="percentunit")
    b.series("Average and longest execution time per bucket",
             [(f"max{by} ({F}duration_avg_seconds{d})", "{{genesys_flowmetrics}} average"),
              (f"max{by} ({F}duration_max_seconds{d})", "{{genesys_flowmetrics}} longest")],
             "duration_avg and duration_max of each closed bucket (type_instance "
             "action_execution), when the API gives the times.", unit="s")
    b.series("Failures per bucket per action",
             [(f"sum{by} ({F}action_errors{s})", "{{genesys_flowmetrics}}")],
             "Each closed bucket's failed executions (gauge action_errors).", bars=True)
    b.newline()
    b.add("table", "Actions over the range",
          [(inc_a("action_executions", "$__range", by), None),
           (inc_a("action_errors", "$__range", by), None),
           (f'{inc_a("action_errors", "$__range", by)} / '
            f'{inc_a("action_executions", "$__range", by)}', None),
           (avg_a("$__range", by), None)],
          24, 9, "Per action over the range: executions, failures, error rate, average "
          "execution time (seconds).")
    q = f"{F}total_action_executions_total"
    variables = org_and_entity(q, "action", "Data action", "genesys_flowmetrics")
    return dashboard(
        "genesys-data-actions", "Genesys data actions: executions, failures, times",
        "Data actions called by flows, per closed interval from genesys_flowmetrics "
        "(DataActions true), through write_prometheus. Generated by make-dashboards.py.",
        ["data-actions"], variables, b)


# ---- call quality -----------------------------------------------------------

def call_quality_dashboard():
    b = Board()
    s = '{instance="$org",genesys_analytics=~"$queue"}'
    # the cumulative buckets only: type_instance <media>-le<bound>
    bk = '{instance="$org",genesys_analytics=~"$queue",type=~".+-le.+"}'

    def inc_m(name, rng, by=""):
        return increase(f"{A}total_mos_{name}_total", s, rng, by)

    def mean(rng, by=""):
        return f'{inc_m("sum_hundredths", rng, by)} / 100 / {inc_m("conversations", rng, by)}'

    def poor(rng, by=""):
        return f'{inc_m("at_or_below", rng, by)} / {inc_m("conversations", rng, by)}'
    by = " by (genesys_analytics)"
    note = ("Needs CallQuality true in the <Org> of genesys_analytics; the MOS of a "
            "call is its lowest (mediaStatsMinConversationMos), counted in the bucket "
            "of its end.")
    b.stat("Calls with a MOS", inc_m("conversations", "$__range"),
           "Ended calls that had a MOS, over the range (counter "
           "total_mos_conversations). " + note, w=6)
    b.stat("Mean MOS", mean("$__range"),
           "Mean MOS of those calls over the range, from the counters "
           "total_mos_sum_hundredths / total_mos_conversations. " + note, w=6)
    b.stat("At or below the threshold", poor("$__range"),
           "Share of the calls at or below the plugin's MosThreshold (4.2 by default) "
           "over the range; the GenesysMosBelowThreshold alert. " + note,
           unit="percentunit", w=6)
    b.stat("Lowest MOS", f"min(min_over_time({A}mos_min{s}[$__range]))",
           "The lowest MOS of any call in the range (gauge mos_min per bucket). " + note,
           w=6)
    b.series("Mean MOS per queue (30 min)", [(mean("30m", by), "{{genesys_analytics}}")],
             "Over the 30 minutes before each point, per queue. " + note)
    b.series("Calls at or below the threshold per queue (30 min)",
             [(poor("30m", by), "{{genesys_analytics}}")],
             "Share of the calls at or below MosThreshold over the 30 minutes before "
             "each point, per queue, as the alert computes it. " + note,
             unit="percentunit")
    b.series("Lowest and mean MOS per bucket",
             [(f"min ({A}mos_min{s})", "lowest"), (f"avg ({A}mos_avg{s})", "mean of queues")],
             "Each closed bucket's mos_min and mos_avg (gauges, timestamped at the bucket "
             "end) over the selected queues. " + note)
    b.series("Calls with a MOS per bucket",
             [(f"sum ({A}mos_conversations{s})", "with a MOS"),
              (f"sum ({A}mos_at_or_below{s})", "at or below the threshold")],
             "Each closed bucket's counts (gauges mos_conversations and mos_at_or_below). "
             + note, bars=True)
    b.newline()
    b.add("bargauge", "MOS distribution over the range",
          [(f"sum by (type) (increase({A}total_mos_bucket_total{bk}[$__range]))",
            "{{type}}")],
          24, 7, "Calls at or below each bound of MosBounds over the range (cumulative "
          "buckets, counter total_mos_bucket; type <media>-le<bound>, le_inf all of "
          "them). " + note)
    b.newline()
    b.add("table", "Queues over the range",
          [(inc_m("conversations", "$__range", by), None), (mean("$__range", by), None),
           (poor("$__range", by), None),
           (f"min{by} (min_over_time({A}mos_min{s}[$__range]))", None)],
          24, 9, "Per queue over the range: calls with a MOS, mean MOS, share at or "
          "below the threshold, lowest MOS. " + note)
    q = f"{A}total_mos_conversations_total"
    variables = org_and_entity(q, "queue", "Queue", "genesys_analytics")
    return dashboard(
        "genesys-call-quality", "Genesys call quality: MOS per queue",
        "Call quality (MOS) of ended calls per queue and closed interval from "
        "genesys_analytics (CallQuality true), through write_prometheus. Generated by "
        "make-dashboards.py.", ["call-quality"], variables, b)


# ---- telephony and platform health ------------------------------------------

def telephony_dashboard():
    b = Board()
    P = "collectd_genesys_platform_"
    e = '{instance="$org",genesys_platform=~"$edge"}'
    t = '{instance="$org",genesys_platform=~"$trunk"}'
    st = '{instance="$org",genesys_platform="status"}'
    by = " by (genesys_platform)"
    b.stat("Edges online", f"sum ({P}edge_online{e})",
           "Edges whose onlineStatus is ONLINE (edge_online 1).")
    b.stat("Edges offline", f"sum (1 - {P}edge_online{e})",
           "Edges that report OFFLINE (the GenesysEdgeOffline alert).")
    b.stat("Trunks connected", f"sum ({P}trunk_connected{t})",
           "Trunks whose connectedStatus.connected is true.")
    b.stat("Trunks down",
           f"count ({P}trunk_connected{t} == 0 or {P}trunk_in_service{t} == 0) "
           f"or sum ({P}trunk_connected{t}) * 0",
           "Trunks disconnected or out of service (the GenesysTrunkDown alert); 0 when "
           "every trunk is up.")
    b.stat("Calls on the trunks", f"sum ({P}trunk_calls{t})",
           "Calls in progress now on the selected trunks, inbound and outbound.")
    b.stat("Worst status component", f"max ({P}status_component{st})",
           "The worst level on the Genesys Cloud status page of the region: 0 "
           "operational, 1 under maintenance, 2 degraded performance, 3 partial outage, "
           "4 major outage.")
    b.series("Edge CPU", [(f"max{by} ({P}edge_cpu_active_percent{e})",
                           "{{genesys_platform}}")],
             "Percent of the processor in use per edge (activeTimePct).", unit="percent")
    b.series("Edge memory used",
             [(f'max{by} ({P}edge_memory_used_bytes{{instance="$org",'
               'genesys_platform=~"$edge",type="physical"})', "{{genesys_platform}}")],
             "Physical memory in use per edge (total minus available).", unit="bytes")
    b.series("Edge disk used",
             [(f"{P}edge_disk_used_bytes{e} / ({P}edge_disk_used_bytes{e} + "
               f"{P}edge_disk_available_bytes{e})", "{{genesys_platform}} {{type}}")],
             "Share of each partition in use per edge.", unit="percentunit")
    b.series("Edges online and in service",
             [(f"{P}edge_online{e}", "{{genesys_platform}} online"),
              (f"{P}edge_active{e}", "{{genesys_platform}} in service")],
             "1 online (onlineStatus ONLINE) / in service (statusCode ACTIVE), 0 not.")
    b.series("Trunk calls",
             [(f'sum{by} ({P}trunk_calls{{instance="$org",genesys_platform=~"$trunk",'
               'type="inbound"})', "{{genesys_platform}} inbound"),
              (f'sum{by} ({P}trunk_calls{{instance="$org",genesys_platform=~"$trunk",'
               'type="outbound"})', "{{genesys_platform}} outbound")],
             "Calls in progress per trunk (calls.inboundCallCount, outboundCallCount).")
    b.series("Trunks connected and in service",
             [(f"{P}trunk_connected{t}", "{{genesys_platform}} connected"),
              (f"{P}trunk_in_service{t}", "{{genesys_platform}} in service")],
             "1 connected / in service, 0 not, per trunk.")
    b.series("Status page components", [(f"max by (type) ({P}status_component{st})",
                                         "{{type}}")],
             "Level of each status page component (0 operational … 4 major outage), "
             "<group>-<component>.", w=24)
    b.newline()
    b.add("table", "Edges", [(f"max{by} ({P}edge_online{e})", None),
                             (f"max{by} ({P}edge_active{e})", None),
                             (f"max{by} ({P}edge_cpu_active_percent{e})", None),
                             (f"max{by} ({P}edge_uptime_seconds{e})", None)],
          12, 9, "Per edge: online, in service, CPU percent, uptime (seconds).")
    b.add("table", "Trunks", [(f"max{by} ({P}trunk_connected{t})", None),
                              (f"max{by} ({P}trunk_in_service{t})", None),
                              (f"max{by} ({P}trunk_edge_in_service{t})", None),
                              (f"sum{by} ({P}trunk_calls{t})", None)],
          12, 9, "Per trunk: connected, in service, its edge in service, calls now.")
    # OperationalEvents: per event definition, a counter stepping once a bucket
    b.newline()
    ev = '{instance="$org",genesys_platform=~"$definition"}'
    b.stat("Operational events, last hour",
           f"sum (increase({P}total_operational_events_total{ev}[1h]))",
           "Events Genesys detected in the last hour over the selected event definitions "
           "(OperationalEvents; the GenesysOperationalEvents alert at 10 a definition).")
    b.series("Operational events per definition",
             [(f"sum{by} (increase({P}total_operational_events_total{ev}[1h]))",
               "{{genesys_platform}}")],
             "Events in the last hour per event definition (data action failures, flow "
             "errors, ...), from the counter of closed buckets; the Operational Console "
             "has each event with its entity.", w=20)
    variables = [variable("org", "Org", f"label_values({P}api_up, instance)", False),
                 variable("edge", "Edge",
                          f'label_values({P}edge_online{{instance="$org"}}, genesys_platform)',
                          True),
                 variable("trunk", "Trunk",
                          f'label_values({P}trunk_connected{{instance="$org"}}, '
                          "genesys_platform)", True),
                 variable("definition", "Event definition",
                          f"label_values({P}total_operational_events_total"
                          '{instance="$org"}, genesys_platform)', True)]
    return dashboard(
        "genesys-telephony", "Genesys telephony: edges, trunks, status page",
        "Telephony and platform health from genesys_platform (edges, trunks, the "
        "Genesys Cloud status page and the operational events), through "
        "write_prometheus. Generated by "
        "make-dashboards.py.", ["telephony"], variables, b)


# ---- API usage per OAuth client (genesys_platform, ApiUsage) -----------------

def api_usage_dashboard():
    b = Board()
    P = "collectd_genesys_platform_api_usage"
    R = "collectd_genesys_platform_api_route_usage"
    c = 'instance="$org",genesys_platform=~"$client"'
    by = " by (genesys_platform)"
    day = ("The counts of the last complete UTC day (Genesys computes API usage once a "
           "day and has none for the current day): the lines step once a day. ")
    b.stat("Requests (last UTC day)", f'sum ({P}{{{c},type="requests"}})',
           day + "API requests of the selected OAuth clients.")
    b.stat("Rate limited (429)", f'sum ({P}{{{c},type="status429"}})',
           day + "Requests refused with HTTP 429 (the GenesysApiClientRateLimited alert).")
    b.stat("Share rate limited",
           f'sum ({P}{{{c},type="status429"}}) / sum ({P}{{{c},type="requests"}})',
           day + "429s over all requests of the selected clients.", unit="percentunit")
    b.stat("Server errors (5xx)", f'sum ({P}{{{c},type="status500"}})',
           day + "Requests answered 5xx.")
    b.stat("OAuth clients", f'max (collectd_genesys_platform_api_usage_clients'
           '{instance="$org"})', "OAuth clients in the last API usage answer.", w=8)
    b.series("429 per OAuth client",
             [(f'sum{by} ({P}{{{c},type="status429"}})', "{{genesys_platform}}")],
             day + "Which integration is throttled: requests refused with 429 per "
             "OAuth client.", bars=True)
    b.series("Requests per OAuth client",
             [(f'sum{by} ({P}{{{c},type="requests"}})', "{{genesys_platform}}")],
             day + "Which integration eats the org's shared API limits.", bars=True)
    b.series("429 per route template",
             [(f'sum by (genesys_platform, type) ({R}{{{c},type=~"status429-.+"}})',
               "{{genesys_platform}} {{type}}")],
             day + "Needs ApiUsageByRoute true: the 429s per client and route "
             "template (type status429-<templateUri>).", w=24, bars=True)
    b.add("table", "Per OAuth client",
          [(f'sum{by} ({P}{{{c},type="{t}"}})', None)
           for t in ("requests", "status200", "status400", "status429", "status500")],
          24, 9, day + "Per OAuth client: requests, 2xx, 4xx, 429 (a part of 4xx), 5xx.")
    L = "collectd_genesys_platform_total_rate_limit_recorded_total"
    near = ("Needs RateLimitAggregates true: the times Genesys recorded a client or user "
            "at 90% of a rate limit (oRateLimitRecorded, a best-effort estimate, only the "
            "limits it tracks), per closed bucket of the operational events' length: "
            "today's pressure, where the 429s above are yesterday's. ")
    b.series("Rate limits near their maximum (1 h)",
             [(f'sum by (genesys_platform) (increase({L}{{instance="$org"}}[1h]))',
               "{{genesys_platform}}")],
             near + "Each point: the hour before it (the GenesysRateLimitNear alert fires "
             "at 10).", w=12)
    b.add("table", "Rate limits over the range",
          [(f'sum by (genesys_platform) (increase({L}{{instance="$org"}}[$__range]))', None)],
          12, 8, near + "Per limit, over the range.")
    variables = [variable("org", "Org",
                          "label_values(collectd_genesys_platform_api_up, instance)", False),
                 variable("client", "OAuth client",
                          f'label_values({P}{{instance="$org"}}, genesys_platform)', True)]
    return dashboard(
        "genesys-api-usage", "Genesys API usage per OAuth client",
        "API requests and 429s per OAuth client of the last complete UTC day, and the "
        "rate limits recorded near their maximum, from genesys_platform with ApiUsage "
        "(and RateLimitAggregates) true, through write_prometheus. Generated by "
        "make-dashboards.py.", ["api"], variables, b)


# ---- first-contact resolution (genesys_analytics, ResolutionAggregates) -----

def resolutions_dashboard():
    b = Board()
    R = f"{A}total_next_contact_avoided_total"
    c = '{instance="$org",genesys_analytics=~"$queue"}'
    lag = ("Genesys counts a contact as resolved the first time (no next contact) 7 to "
           "15 days after its wrap-up, and the plugin asks for the days being settled "
           "once a day after 01:00 UTC: the counter total_next_contact_avoided steps "
           "once a day by the contacts recognized that day, of wrap-ups one to two "
           "weeks old. ")
    b.stat("Recognized in the last day", f"sum (increase({R}{c}[1d]))",
           lag + "Contacts recognized in the last 24 hours in the selected queues.", w=6)
    b.stat("Recognized in the last 7 days", f"sum (increase({R}{c}[7d]))",
           lag + "The same over 7 days.", w=6)
    b.stat("Queues with contacts avoided", f"count (sum by (genesys_analytics) ({R}{c}))",
           "Queues of the selection with a next_contact_avoided series: the last "
           "queue that handled a conversation owns it (Genesys's definition).", w=6)
    b.stat("Media types", f"count (sum by (type) ({R}{c}))",
           "Media types with a series in the selected queues.", w=6)
    b.series("Recognized a day, per media type",
             [(f"sum by (type) (increase({R}{c}[1d]))", "{{type}}")],
             lag + "Each point: the 24 hours before it (the GenesysFirstContactResolution"
             "Falling alert compares the last day with the daily mean of 8 days).")
    b.series("Recognized a day, per queue",
             [(f"sum by (genesys_analytics) (increase({R}{c}[1d]))",
               "{{genesys_analytics}}")],
             lag + "Each point: the 24 hours before it.")
    b.add("table", "Per queue and media type, last 7 days",
          [(f"sum by (genesys_analytics, type) (increase({R}{c}[7d]))", None)],
          24, 9, lag + "Contacts recognized in the last 7 days. Graphite and InfluxDB keep "
          "next_contact_avoided per day at the day's own time, revised as it grows: "
          "there, a day 16 days back over its handled conversations is the rate.")
    variables = org_and_entity(R, "queue", "Queue", "genesys_analytics")
    return dashboard(
        "genesys-resolutions", "Genesys first-contact resolution",
        "Contacts resolved without a next contact (nNextContactAvoided) per queue and "
        "media type, from genesys_analytics with ResolutionAggregates true, through "
        "write_prometheus. Generated by make-dashboards.py.", ["resolution"], variables, b)


# ---- bot and IVR containment (genesys_flowmetrics, BotAggregates) -----------

def bots_dashboard():
    b = Board()
    s = '{instance="$org",genesys_flowmetrics=~"$bot"}'

    def inc_b(name, rng, by="", ti=None):
        sel = s if ti is None else s[:-1] + f',type="{ti}"}}'
        return increase(f"{F}total_{name}_total", sel, rng, by)

    def share(rng, by=""):
        return (f'{inc_b("bot_queries_self_served", rng, by)} / '
                f'{inc_b("bot_queries", rng, by)}')

    def avg_b(rng, by=""):
        return (f'{inc_b("duration_ms", rng, by, "bot_session")} / '
                f'{inc_b("duration_count", rng, by, "bot_session")} / 1000')
    by = " by (genesys_flowmetrics)"
    served = ("Questions self-served over questions asked (oBotSessionQuerySelfServed "
              "over oBotSessionQuery): the share the bot answered without a person. ")
    b.stat("Sessions", inc_b("bot_sessions", "$__range"),
           "Bot sessions (nBotSessions) of the selected bots over the range.", w=6)
    b.stat("Questions self-served", share("$__range"), served + "Over the range.",
           unit="percentunit", w=6)
    b.stat("Average session", avg_b("$__range"),
           "Session time per session (tBotSession sum / count) over the range.",
           unit="s", w=6)
    b.stat("Recognition failures",
           inc_b("duration_count", "$__range", ti="bot_recognition_failure"),
           "Sessions with a recognition failure (tBotRecognitionFailure count) over "
           "the range.", w=6)
    b.series("Questions self-served per bot (1 h)",
             [(share("1h", by), "{{genesys_flowmetrics}}")],
             served + "Over the hour before each point (the GenesysBotSelfServiceFalling "
             "alert compares it with the day's).", unit="percentunit")
    b.series("Sessions per bucket per bot",
             [(f"sum{by} ({F}bot_sessions{s})", "{{genesys_flowmetrics}}")],
             "Each closed bucket's sessions (gauge bot_sessions, timestamped at the "
             "bucket end); bot-other sums the bots past MaxBots.", bars=True)
    b.series("How sessions ended, per bucket",
             [(f'sum ({F}duration_count{s[:-1]},type="{ti}"}})', label)
              for ti, label in (("bot_exit", "exited the bot (to a flow or an agent)"),
                                ("bot_disconnect", "disconnected in the bot"),
                                ("bot_recognition_failure", "recognition failure"))],
             "Each closed bucket's sessions that left the bot through its exit "
             "(tBotExit count), that the customer ended in it (tBotDisconnect count), "
             "and those with a recognition failure (tBotRecognitionFailure count).",
             bars=True)
    b.series("Average session time per bot (1 h)",
             [(avg_b("1h", by), "{{genesys_flowmetrics}}")],
             "Session time per session over the hour before each point.", unit="s")
    b.newline()
    b.add("table", "Bots over the range",
          [(inc_b("bot_sessions", "$__range", by), None),
           (inc_b("bot_queries", "$__range", by), None),
           (share("$__range", by), None),
           (avg_b("$__range", by), None)],
          24, 9, "Per bot over the range: sessions, questions asked, the share "
          "self-served, the average session (seconds).")
    variables = org_and_entity(f"{F}total_bot_sessions_total", "bot", "Bot",
                               "genesys_flowmetrics")
    return dashboard(
        "genesys-bots", "Genesys bots: sessions and containment",
        "Bot and IVR sessions and the questions they self-serve, per bot and closed "
        "interval from genesys_flowmetrics (BotAggregates true), through "
        "write_prometheus. Generated by make-dashboards.py.", ["bots"], variables, b)


# ---- speech and text analytics (genesys_analytics, SpeechAnalytics) ---------

def speech_dashboard():
    b = Board()
    c = '{instance="$org",genesys_analytics=~"$queue"'
    sent = c + ',type=~"sentiment-.+"}'
    late = ("Genesys analyses voice and chat 30 minutes after the conversation ends, "
            "message and email 72 hours after the last message: the plugin asks a "
            "bucket 30 minutes after its end and again up to 73 hours later, and each "
            "value carries its bucket's time, so the newest half hour is empty and "
            "every panel looks back an hour or more. ")
    by = " by (genesys_analytics, type)"

    def last(metric, sel):  # the newest settled bucket of each series
        return f"last_over_time({A}{metric}{sel}[2h])"
    b.stat("Conversations analysed, 24 h",
           f"sum (increase({A}total_speech_analyzed_conversations_total{c}}}[1d]))",
           late + "nSpeechTextAnalyzedConversations in the last 24 hours, selected queues.",
           w=6)
    b.stat("Scored for sentiment, 24 h",
           f"sum (increase({A}total_score_count_total{sent}[1d]))",
           "Conversations with a sentiment score (oSentimentScore count), last 24 hours.",
           w=6)
    b.stat("Average sentiment, newest bucket",
           f"sum ({last('score_avg', sent)} * {last('score_count', sent)}) / "
           f"sum ({last('score_count', sent)})",
           late + "The newest settled bucket's sentiment, -100..+100, weighted by each "
           "queue and media type's scored conversations.", w=6)
    b.stat("Lowest sentiment, newest bucket", f"min ({last('score_min', sent)})",
           "The lowest single score of the newest settled bucket.", w=6)
    b.series("Average sentiment per queue and media type",
             [(f"avg{by} ({last('score_avg', sent)})", "{{genesys_analytics}} {{type}}")],
             late + "At each point the newest settled bucket's average score (score_avg), "
             "-100..+100 (the GenesysSentimentFalling alert compares the last hour with "
             "the day).")
    b.series("Conversations analysed, newest bucket",
             [(f"sum by (type) ({last('speech_analyzed_conversations', c + '}')})",
               "{{type}}")],
             late + "At each point the newest settled bucket's analysed conversations per "
             "media type.", bars=True)
    def per_conversation(m):
        sel = c + f',type=~"{m}-.+"}}'
        return (f"sum ({last('duration_avg_seconds', sel)} * {last('duration_count', sel)}) / "
                f"sum ({last('duration_count', sel)})")
    b.series("Talk, silence and overtalk (average per conversation)",
             [(per_conversation(m), label)
              for m, label in (("agent_speech", "agent"), ("customer_speech", "customer"),
                               ("silence", "silence"), ("overtalk", "overtalk"))],
             late + "The newest settled bucket's average agent speech, customer speech, "
             "silence and overtalk per analysed conversation (tAgentSpeech, "
             "tCustomerSpeech, tSilence, tOverTalkSpeech).", unit="s", w=24)
    b.add("table", "Per queue and media type, last 24 h",
          [(f"sum{by} (increase({A}total_speech_analyzed_conversations_total{c}}}[1d]))",
            None),
           (f"sum{by} (increase({A}total_score_count_total{sent}[1d]))", None),
           (f"min{by} (min_over_time({A}score_min{sent}[1d]))", None)],
          24, 9, "Per queue and media type in the last 24 hours: conversations "
          "analysed, scored for sentiment, and the lowest score.")
    variables = org_and_entity(f"{A}total_speech_analyzed_conversations_total", "queue",
                               "Queue", "genesys_analytics")
    return dashboard(
        "genesys-speech", "Genesys speech and text analytics: sentiment and talk",
        "Conversations analysed, their sentiment and talk times per queue and media type "
        "and settled bucket, from genesys_analytics with SpeechAnalytics true, through "
        "write_prometheus. Generated by make-dashboards.py.", ["speech"], variables, b)


def boards():
    out = {f"genesys-media-{m}.json": media_dashboard(m) for m in MEDIA}
    out["genesys-data-actions.json"] = data_actions_dashboard()
    out["genesys-call-quality.json"] = call_quality_dashboard()
    out["genesys-telephony.json"] = telephony_dashboard()
    out["genesys-api-usage.json"] = api_usage_dashboard()
    out["genesys-resolutions.json"] = resolutions_dashboard()
    out["genesys-bots.json"] = bots_dashboard()
    out["genesys-speech.json"] = speech_dashboard()
    return out


def main(argv):
    files = {os.path.join(HERE, name): json.dumps(board, indent=2, ensure_ascii=False) + "\n"
             for name, board in boards().items()}
    return write_or_check(files, "examples/grafana/make-dashboards.py", argv)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
