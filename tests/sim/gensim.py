#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gensim: Genesys Cloud simulator for collectd-genesys (demo backend and test
ground truth).  Python 3 standard library only.  See README.md beside this file.

    python3 tests/sim/gensim.py --port 8080 --queues 20 --agents 200 --speed 1
"""
import argparse
import asyncio
import gc
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import simmodel  # noqa: E402
import simapi  # noqa: E402
import simcampaigns  # noqa: E402


def campaign_statuses(text):
    """--campaign-statuses: a comma list of campaignStatus words."""
    words = tuple(w.strip().lower() for w in text.split(","))
    if not words or not all(simcampaigns.word_ok(w) for w in words):
        raise argparse.ArgumentTypeError("lower-case words, comma separated")
    return words


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="gensim", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    a = ap.add_argument
    a("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    a("--port", type=int, default=8080, help="listen port; 0 picks a free port")
    a("--public-host", default=None,
      help="host name put in URLs (connectUri, paging); default: --host, or localhost with --tls")
    a("--tls", action="store_true", help="serve HTTPS/WSS with a generated test CA")
    a("--tls-name", action="append", default=[], metavar="NAME",
      help="one more DNS name in the server certificate (repeatable), e.g. "
           "api.mypurecloud.ie to stand in for a region")
    a("--state-dir", default=None, help="where ca.pem and the server cert live "
                                        "(default: $TMPDIR/gensim-state)")
    a("--seed", type=int, default=1)
    a("--queues", type=int, default=12)
    a("--agents", type=int, default=120)
    a("--flows", type=int, default=6)
    a("--speed", type=float, default=1.0, help="simulated seconds per real second")
    a("--start", default=None,
      help="simulated clock start, ISO-8601 UTC; 'now' = the current time; "
           "default: now rounded down to the hour")
    a("--warmup", type=float, default=300.0,
      help="simulated seconds run before --start so queues are not empty (default 300)")
    a("--load", type=float, default=0.85, help="target agent occupancy (arrival rate)")
    a("--flow-disconnect-share", type=float, default=0.12,
      help="share of IVR executions that end in the flow, self-served (README, Flow exits); "
      "the rest go to the queue")
    a("--arrival-scale", type=float, default=1.0,
      help="multiplies the arrival rate (0: no arrivals; POST /sim/hold makes queues wait)")
    a("--token-ttl", type=float, default=86400.0, help="access token lifetime, REAL seconds")
    a("--channel-ttl", type=float, default=86400.0, help="channel lifetime, REAL seconds")
    a("--client-id", default="demo-client")
    a("--client-secret", default="demo-secret")
    a("--extra-clients", type=int, default=0,
      help="N more OAuth clients, <client-id>-K with secret <client-secret>-K "
           "(K = 1..N), each with its own tokens, channels and limits")
    a("--rate-limit", type=int, default=300, help="requests per token per 60 real seconds")
    a("--agg-late-share", type=float, default=0.0,
      help="share of the conversation moments the aggregates query shows late (0 to 1)")
    a("--agg-late-s", type=float, default=60.0,
      help="with --agg-late-share: how late, simulated seconds")
    a("--rate-window-sim", action="store_true",
      help="--rate-limit per 60 SIMULATED seconds (Retry-After still in real seconds)")
    a("--org-route-limit", type=int, default=0,
      help="requests per 60 real seconds across all tokens on /api/v2/routing/queues* (0: off)")
    a("--activity-max-entities", type=int, default=1000,
      help="entityIds/entities per group of a routing activity query before truncation")
    a("--max-channels", type=int, default=20)
    a("--max-topics", type=int, default=1000)
    a("--max-obs-queues", type=int, default=100,
      help="queueId predicates allowed per queue observation query (UNCONFIRMED upstream)")
    a("--heartbeat", type=float, default=30.0, help="WebSocket heartbeat period, REAL seconds")
    a("--deny-permission", action="append", default=[], metavar="PERM",
      help="answer 403 missing.permissions where PERM is needed (repeatable; "
           "README, Permissions)")
    # Answer forms (README, "Answer forms"); each can change at run time (POST /sim/forms).
    a("--longest-form", choices=simapi.FORMS["longest_form"], default="epoch",
      help="oLongest* calculatedMetricValue: epoch ms of entry (default) or duration ms")
    a("--presence-qualifier", choices=simapi.FORMS["presence_qualifier"], default="id",
      help="oUserPresences qualifier: org presence id (default) or system presence name")
    a("--onqueue-form", choices=simapi.FORMS["onqueue_form"], default="qualified",
      help="oOnQueueUsers: per routing status (default), one total, or both")
    a("--presence-spelling", choices=simapi.FORMS["presence_spelling"], default="display",
      help="systemPresence in REST users, members and presence definitions")
    a("--topic-presence-spelling", choices=simapi.FORMS["topic_presence_spelling"],
      default="enum", help="systemPresence in v2.users.{id}.activity")
    a("--obs-aggregates", choices=simapi.FORMS["obs_aggregates"], default="on",
      help="interval-aggregate-only messages on v2.analytics.queues.{id}.observations")
    a("--flow-metrics-shape", choices=("record", "aggregate"), default="record",
      help="eventBody of v2.analytics.flow.{id}.metrics (see README)")
    a("--edges", type=int, default=3,
      help="telephony edges of the org (README, Telephony and platform health; default 3)")
    a("--trunks", type=int, default=4, help="external trunks of the org (default 4)")
    a("--platform-slot", type=float, default=60,
      help="simulated seconds each edge, trunk and status page state lasts (default 60)")
    a("--platform-metrics", choices=simapi.FORMS["platform_metrics"], default="list",
      help="edge and trunk metrics answers: a list (default, as documented) or "
           "{\"entities\": [...]}")
    a("--cloud-media-edges", type=int, default=2,
      help="cloud-media edges (edgeDeploymentType CDM), listed unless showCloudMedia=false "
           "(default 2)")
    a("--phone-trunks", type=int, default=3, help="PHONE trunks (default 3)")
    a("--page-max", type=int, default=0,
      help="largest page of every listing and of the routing activity query: a larger "
           "pageSize is cut to it, as a server that caps pages (0: each listing's own "
           "maximum; 25 is the record's default page size)")
    a("--platform-page-max", type=int, default=100,
      help="largest page of the edge and trunk listings (default 100)")
    a("--offline-metrics", choices=simapi.FORMS["offline_metrics"], default="stale",
      help="metrics of an offline edge and its trunks: hours old by eventTime (default) "
           "or left out")
    a("--trunk-next-uri", choices=simapi.FORMS["trunk_next_uri"], default="drop",
      help="trunk listing page links: without trunkType (default) or keeping it")
    a("--status-group-link", choices=simapi.FORMS["status_group_link"], default="both",
      help="status page: components name their group by group_id and the group lists "
           "them (default), or only one of the two")
    a("--event-definitions", type=int, default=4,
      help="operational event definitions of the org (README, Operational events; "
           "default 4)")
    a("--events-late-share", type=float, default=0.0,
      help="share of the operational events the aggregates query shows late (0 to 1; "
           "README, Operational events)")
    a("--events-late-s", type=float, default=2400.0,
      help="with --events-late-share: a late event shows half this to this many "
           "simulated seconds after it happened (default 2400)")
    a("--usage-events-zeros", choices=simapi.FORMS["usage_events_zeros"], default="omit",
      help="events aggregates: definitions without events left out (default) or listed "
           "with eventCount 0")
    a("--definitions-listing", choices=simapi.FORMS["definitions_listing"],
      default="entities",
      help="event definitions listing: {\"entities\": [...]} alone (default, as the SDK "
           "model) or paged like the other listings")
    a("--usage-clients", type=int, default=4,
      help="OAuth clients in the API usage answers (README, API usage; default 4)")
    a("--usage-pending", type=int, default=1,
      help="results requests of a usage query answered \"Running\" first (default 1)")
    a("--usage-date", choices=simapi.FORMS["usage_date"], default="present",
      help="API usage rows carry \"date\" (default) or not")
    a("--usage-zeros", choices=simapi.FORMS["usage_zeros"], default="present",
      help="API usage rows carry zero counts (default) or leave them out")
    a("--usage-status", choices=simapi.FORMS["usage_status"], default="present",
      help="a complete API usage answer says queryStatus Complete (default) or not")
    a("--usage-builtin", type=int, default=2,
      help="Genesys's own OAuth clients (purecloud, purecloud-builtin) in the API usage "
           "of the current service, never in the legacy one (default 2)")
    a("--usage-ready-after", type=float, default=0,
      help="simulated seconds after midnight UTC before the day just over has API usage "
           "counts (default 0; UNCONFIRMED)")
    a("--usage-page-max", type=int, default=simapi.USAGE_PAGE_MAX,
      help="largest page of the usage jobs results (a larger pageSize is cut to it; "
           "default 1000, the record's maximum)")
    a("--usage-legacy-limit", type=int, default=simapi.USAGE_LEGACY_LIMIT,
      help="rows of a legacy usage answer before it is cut without notice (default 20000; "
           "UNCONFIRMED)")
    a("--usage-jobs", choices=simapi.FORMS["usage_jobs"], default="served",
      help="the usage jobs routes: served (default) or absent (404)")
    a("--usage-legacy", choices=simapi.FORMS["usage_legacy"], default="served",
      help="the legacy usage query routes: served (default) or gone (404)")
    a("--usage-next", choices=simapi.FORMS["usage_next"], default="uri",
      help="the next page of usage jobs results: nextUri with after= (default) or a "
           "\"cursor\" field")
    a("--usage-client-ref", choices=simapi.FORMS["usage_client_ref"], default="full",
      help="oauthClient of a usage jobs row: id, name and selfUri (default) or id and "
           "selfUri")
    a("--ewt-results", choices=simapi.FORMS["ewt_results"], default="one",
      help="an estimated wait time answer: one result without a label, formula BEST "
           "(default); a labelled result (another value) before it; or results of other "
           "formulas (SIMPLE, POSITION-IN-QUEUE, an unknown word; other values) before it")
    a("--workitem-oldest", choices=simapi.FORMS["workitem_oldest"], default="age",
      help="oWorkitemOldestUnassigned's stats.max: the age in ms (default) or the "
           "instant of the oldest, epoch ms (the record gives no unit)")
    a("--workitem-page", choices=simapi.FORMS["workitem_page"], default="full",
      help="workitem metrics pages: pageSize results (default) or two (fewer, as "
           "the record allows)")
    a("--resolution-metric-extra", choices=simapi.FORMS["resolution_metric_extra"],
      default="none",
      help="resolution aggregates: every bucket as the record (default), or with an "
           "unrecorded metric word too (README, Resolution aggregates)")
    a("--workitem-words", choices=simapi.FORMS["workitem_words"], default="record",
      help="workitem metrics answers in the record's words (default) or with a status "
           "category and a metric it does not have")
    a("--campaign-topic", choices=simapi.FORMS["campaign_topic"], default="sdk",
      help="the campaign topics' bodies: the SDK topic models' (counts with a fraction, "
           "status lower case; default) or the routes' (integers, upper case)")
    a("--campaign-connect-ratio", choices=simapi.FORMS["campaign_connect_ratio"],
      default="fraction",
      help="a campaign's stats: connects of attempts at most (default), or more connects "
           "than attempts (connectRatio above 1, which the record does not bound)")
    a("--campaign-progress-counts", choices=simapi.FORMS["campaign_progress_counts"],
      default="all",
      help="campaign progress entries: every count (default), or some leaving out an "
           "optional one (totalNumberOfContacts, percentage)")
    a("--agent-predicates", choices=simapi.FORMS["agent_predicates"], default="current",
      help="the agent counts query's predicates: every dimension of the SDK's 257.0.0 "
           "(teamId, managementUnitId, ...; default), or those before it (400 for the "
           "others)")
    a("--actions", type=int, default=4,
      help="data actions of the org (README, Data actions; default 4)")
    a("--action-stats", choices=simapi.FORMS["action_stats"], default="full",
      help="tTotalExecution stats: count, sum, min, max (default) or count only")
    a("--action-group", choices=simapi.FORMS["action_group"], default="id",
      help="actions aggregates groups: by actionId as asked (default) or actionName only")
    a("--action-errors", choices=simapi.FORMS["action_errors"], default="status",
      help="failed executions: some carry only a non-2xx responseStatus (default) or "
           "every one an errorType")
    a("--bots", type=int, default=6,
      help="bots of the org (README, Bots; default 6)")
    a("--bot-query", choices=simapi.FORMS["bot_query"], default="sum",
      help="the questions asked and self-served: oBotSessionQuery[SelfServed]'s sum "
           "(default) or their count")
    a("--deactivated", type=int, default=None,
      help="users deactivated during the run, besides --agents (default agents/20, at "
           "least 1): listed only with state=any or inactive, their past time in the "
           "users aggregates (README, Evidence: deactivated users)")
    a("--campaigns", type=int, default=4,
      help="outbound campaigns (README, Outbound campaigns; default 4: two on, one off, "
           "one complete, in turn)")
    a("--campaign-statuses", type=campaign_statuses, default=None,
      help="the campaigns' first statuses in turn, comma separated (default "
           "on,on,off,complete): the record's (forced_off, forced_stopping...) or any "
           "lower-case word (a status Genesys may add)")
    a("--teams", type=int, default=simmodel.TEAMS,
      help="work teams; agent i is in team i %% (teams + 1), the last share in none")
    a("--mgmt-units", type=int, default=3,
      help="workforce management units; agent i in unit i %% units (README, Real-time "
           "adherence)")
    a("--deleted", type=int, default=None,
      help="users deleted before the model's start, listed only with state=any or deleted "
           "(default agents/10, at least 1; README, Evidence: deactivated users)")
    a("--deactivated-after", type=float, default=300,
      help="simulated seconds after the model's start when they are deactivated (300; "
           "at the latest at --start, the end of --warmup)")
    a("--user-granularities", default="",
      help="comma-separated granularities the users aggregates query takes (default: any; "
           "others get 400)")
    a("--unattributed", choices=simapi.FORMS["unattributed"], default="org",
      help="conversation aggregates: nConversations, nBotInteractions, nError and "
           "nStateTransitionError in groups without a queueId (org, default, as Genesys "
           "answers) or under each queue (queue)")
    a("--adherence-answer", choices=simapi.FORMS["adherence_answer"], default="entities",
      help="a management unit's adherence answer: its entities (default) or only a "
           "downloadUrl (README, Real-time adherence)")
    a("--adherence-download", choices=simapi.FORMS["adherence_download"],
      default="presigned",
      help="that downloadUrl: pre-signed, no token (default; a token sent is refused), "
           "on the API's origin wanting the token, or on another origin wanting it")
    a("--milestone-grouping", choices=("with-outcome", "alone"), default="with-outcome",
      help="flow aggregates: milestone groups carry the associated flowOutcomeId "
           "(with-outcome) or not (alone) (see README)")
    a("--details-sessions", choices=simapi.FORMS["details_sessions"], default="internal",
      help="details query: voice calls with an internalmessage session (internal, the "
           "record's form) or without (plain)")
    a("--details-hits", choices=simapi.FORMS["details_hits"], default="approximate",
      help="details query: totalHits counting duplicates (approximate, the record's "
           "form) or exact")
    a("--details-order-by", choices=simapi.FORMS["details_order_by"], default="sorted",
      help="details query: orderBy conversationEnd sorts the pages by it (sorted, the "
           "SDKs' enum), is refused with a 400 (refused, their text lists only "
           "conversationStart, segmentStart, segmentEnd) or sorts by conversationStart "
           "(ignored)")
    a("--details-results-max", type=int, default=100000,
      help="details query: a range holding more results is refused past this many "
           "(default 100000, the real limit; smaller makes a small org pass it)")
    a("--retention-hours", type=float, default=26.0, help="simulated hours of analytics kept")
    a("--reprocessing", action="store_true",
      help="model Genesys' nightly pipeline: a share of the handle times changes, up or "
           "down, when the first job that may take it runs (README, 'Late data and "
           "reprocessing')")
    a("--reprocess-kickoff", default="02:00",
      help="with --reprocessing: the job's kick-off, HH:MM UTC (default 02:00)")
    a("--reprocess-run-hours", type=float, default=3.0,
      help="with --reprocessing: how long the job runs; a change is visible from a point "
           "of the run (default 3)")
    a("--reprocess-share", type=float, default=0.02,
      help="with --reprocessing: share of the handle times it changes (default 0.02); "
           "one in three a correction, taken once the conversation is 72 h old, the rest "
           "once it is 48 h old")
    a("--scenario", default=None, help="JSON fault timeline")
    a("--ready-file", default=None, help="written once listening")
    a("--truth-file", default=None, help="ground truth dumped periodically and at exit")
    a("--truth-interval", type=float, default=5.0, help="real seconds between truth dumps")
    a("--ws-max-buffer", type=int, default=32 * 1024 * 1024,
      help="bytes queued to a slow WebSocket client before it is dropped")
    a("--ws-max-in", type=int, default=1024 * 1024, help="largest client message accepted")
    a("--tick", type=float, default=0.05, help="model advance period, real seconds")
    a("--quiet", action="store_true")
    o = ap.parse_args(argv)
    if o.public_host is None:
        o.public_host = "localhost" if o.tls else (o.host if o.host != "0.0.0.0" else "127.0.0.1")
    return o


def start_ms_from(opt):
    now = int(time.time() * 1000)
    if opt is None:
        return now - now % 3600000
    if opt == "now":
        return now
    return simapi.parse_time_ms(opt)


def write_atomic(path, data):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Runner:
    def __init__(self, opts):
        self.opts = opts
        self.stop_ev = None
        self.app = None

    def log(self, *a):
        if not self.opts.quiet:
            print("gensim:", *a, file=sys.stderr, flush=True)

    def build(self):
        o = self.opts
        t0 = time.time()
        start = start_ms_from(o.start)
        warm = int(o.warmup * 1000)
        model = simmodel.Model(seed=o.seed, n_queues=o.queues, n_agents=o.agents,
                               n_flows=o.flows, start_ms=start - warm, load=o.load,
                               arrival_scale=o.arrival_scale, retention_h=o.retention_hours,
                               deactivated=o.deactivated, deleted=o.deleted, teams=o.teams,
                               # deactivated before the first answer: a client
                               # never sees them active (the live truths lack them)
                               deactivated_after_ms=int(min(o.deactivated_after,
                                                            o.warmup) * 1000))
        model.flow_disconnect_share = o.flow_disconnect_share
        model.conv_store.late_share = o.agg_late_share
        model.conv_store.late_ms = int(o.agg_late_s * 1000)
        if o.reprocessing:
            hh, mm = (int(x) for x in o.reprocess_kickoff.split(":"))
            model.conv_store.pipeline = simmodel.Pipeline(
                (hh * 60 + mm) * 60000, int(o.reprocess_run_hours * 3600000),
                o.reprocess_share)
        model.advance_to(start)
        # The static part of the model (entities, agents, indexes) is large and
        # lives forever: move it out of the collector's way, otherwise every
        # full collection stalls the event loop for ~0.7 s at 50,000 agents.
        gc.collect()
        gc.freeze()
        gc.set_threshold(20000, 20, 20)
        self.log("model: %d queues, %d agents, %d flows, %.2f arrivals/sim-s, warm-up %.1fs "
                 "(%d events) in %.2fs" % (len(model.queues), len(model.agents), len(model.flows),
                                           model.arrival_rate if model.streams else 0, o.warmup,
                                           model.events_processed, time.time() - t0))
        tls_ctx = ca = None
        if o.tls:
            import simtls
            sd = o.state_dir or os.path.join(os.environ.get("TMPDIR", "/tmp"), "gensim-state")
            tls_ctx, ca = simtls.server_context(
                sd, ("localhost", "127.0.0.1", *o.tls_name))
        clock = simapi.Clock(start, o.speed)
        self.app = simapi.App(o, model, clock, tls_ctx, ca)

    async def scenario(self, path):
        with open(path) as f:
            sc = json.load(f)
        items = sc.get("events", sc.get("faults", [])) if isinstance(sc, dict) else sc
        t0 = time.monotonic()
        for it in sorted(items, key=lambda x: float(x.get("at_real_seconds", 0))):
            delay = float(it.get("at_real_seconds", 0)) - (time.monotonic() - t0)
            if delay > 0:
                await asyncio.sleep(delay)
            spec = {k: v for k, v in it.items() if k != "at_real_seconds"}
            try:
                r = self.app.faults.add(spec)
                self.log("scenario: %s -> %s" % (spec.get("fault"), r))
            except simapi.ApiError as e:
                self.log("scenario: %s failed: %s" % (spec, e.message))

    def dump_truth(self):
        if self.opts.truth_file:
            self.app.sync()
            t = self.app.model.truth()
            t["stats"] = self.app.stats_snapshot()
            t["eventbridge"] = self.app.eb.stats if self.app.eb else None
            write_atomic(self.opts.truth_file, json.dumps(t, indent=1))

    async def truth_loop(self):
        while True:
            await asyncio.sleep(self.opts.truth_interval)
            self.dump_truth()

    async def main(self):
        o = self.opts
        self.build()
        app = self.app
        await app.start()
        self.stop_ev = asyncio.Event()
        loop = asyncio.get_event_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop_ev.set)
        self.log("listening on %s (WebSocket %s/channels/<id>), client %s" %
                 (app.base_http, app.base_ws, o.client_id))
        if o.scenario:
            loop.create_task(self.scenario(o.scenario))
        if o.truth_file:
            loop.create_task(self.truth_loop())
        if o.ready_file:
            write_atomic(o.ready_file, json.dumps({
                "port": app.port, "base_url": app.base_http, "ws_base": app.base_ws,
                "ca": app.ca_path, "pid": os.getpid(), "client_id": o.client_id,
                "client_secret": o.client_secret,
                "clients": [[o.client_id, o.client_secret]] + [
                    ["%s-%d" % (o.client_id, k), "%s-%d" % (o.client_secret, k)]
                    for k in range(1, o.extra_clients + 1)],
                "sim_start": simmodel.iso(app.clock.start_ms),
                "speed": o.speed}))
        await self.stop_ev.wait()
        self.log("stopping")
        try:
            self.dump_truth()
        except Exception as e:
            self.log("truth dump failed: %r" % e)
        for ws in list(app.sockets):
            ws.close(1001, "server shutting down")
        app.server.close()
        await asyncio.sleep(0.1)


def main(argv=None):
    opts = parse_args(argv)
    asyncio.run(Runner(opts).main())


if __name__ == "__main__":
    main()
