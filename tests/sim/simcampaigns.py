# SPDX-License-Identifier: MIT
"""Outbound campaigns of the simulator (README, Outbound campaigns): each a
dialer that calls its contact list while ON, in the forms of the record's
Campaign (listing), CampaignProgress and CampaignStats. The state moves
with the simulated clock (not while the model is frozen); a campaign that
has called every contact turns COMPLETE; POST /sim/campaigns sets a status.
Everything answered comes from here, so /sim/truth/campaigns is what an
answer would say now. Each change is published on the campaign's topics
(README, Outbound campaigns): a status on v2.outbound.campaigns.{id}
(DialerCampaignConfigChangeCampaign), the contacts called on its
.progress (DialerCampaignProgressEventCampaignProgress), in the form of
the form campaign_topic: "sdk" (the topic models': counts as numbers with
a fraction, the status lower case) or "rest" (the routes': integers, upper
case). The forms campaign_connect_ratio ("fraction", or "above_one": more
connects than attempts) and campaign_progress_counts ("all", or "sparse":
entries leaving out an optional count) shape the stats and progress.
--campaign-statuses sets the first campaigns' statuses in turn, any word
(one outside the record: a status Genesys may add).

Its outbound calls are also the conversation aggregates grouped or
filtered by outboundCampaignId (README, Campaign aggregates): each contact
dialled is one attempt at the instant the dialler reached it; of the k-th
attempt of a campaign (from 0) those with k % 5 in (0, 4) connected and
those with k % 35 == 34 (connected too) abandoned. interval_counts() and
aggregates_truth() say the same of every bucket."""
import bisect
import random
import re

from simmodel import iso

# CampaignStatusEnum of the record (README, Evidence: Outbound campaigns):
# the SDKs' Campaign (the listing), forced_off and forced_stopping since
# 2019; the topic model lists the first five
STATUSES = ("on", "off", "complete", "stopping", "invalid", "forced_off", "forced_stopping")
# the statuses whose dialer calls; a stopping one turns (forced_)off next
DIALLING = ("on", "stopping", "forced_stopping")
STOPPED = {"stopping": "off", "forced_stopping": "forced_off"}
DIALING_MODES = ("predictive", "power", "progressive", "preview", "agentless")
# statuses of the first campaigns, in turn (one of each kind at 4)
START = ("on", "on", "off", "complete")
TOPIC = "v2.outbound.campaigns.%s"
PROGRESS_TOPIC = TOPIC + ".progress"


def _uuid(rng):
    b = rng.getrandbits(128).to_bytes(16, "big")
    h = b.hex()
    return "%s-%s-4%s-%x%s-%s" % (h[0:8], h[8:12], h[13:16], 8 | (b[8] & 3), h[17:20], h[20:32])


def word_ok(status):
    """A campaignStatus word the simulator serves: the record's, or another
    lower-case word (a status Genesys may add, README)."""
    return bool(re.fullmatch(r"[a-z][a-z_]{0,30}", status))


class Campaigns:
    def __init__(self, seed, n, divisions, now_ms, start=START):
        rng = random.Random("campaigns-%s" % seed)
        self.items = []
        for k in range(n):
            total = 2000 + 500 * (k % 5)
            status = start[k % len(start)]
            called = total if status == "complete" else (total // 10) * (k % 3)
            div = divisions[k % len(divisions)]
            self.items.append({
                "id": _uuid(rng), "name": "Campaign %02d" % (k + 1), "k": k,
                "division": {"id": div["id"], "name": div["name"]},
                "contactList": {"id": _uuid(rng), "name": "List %02d" % (k + 1)},
                "dialingMode": DIALING_MODES[k % len(DIALING_MODES)].upper(),
                "status": status, "total": total, "called": float(called),
                # contacts dialled a simulated second while ON
                "rate": 0.5 + 0.25 * (k % 4), "outboundLineCount": 10 + 5 * (k % 3),
                # attempts since the simulator started (never reset) at the
                # simulated instants the dialler moved: (ms, attempts)
                "dialled": 0.0, "points": [(now_ms, 0.0)],
            })
        self.by_id = {c["id"]: c for c in self.items}
        self.at = now_ms      # the simulated clock last seen
        self.clock = now_ms   # the same, stopped while frozen (the stats' slot)
        self.changes = []     # (sim ms, id, old, new)
        self.requests = {"stats": 0, "progress": 0, "bulk_progress": 0, "list": 0}
        self.hub = None       # the notification hub, set by the app
        self.form = lambda: "sdk"   # the form campaign_topic, set by the app
        # the forms campaign_connect_ratio and campaign_progress_counts
        self.forms = lambda: {"campaign_connect_ratio": "fraction",
                              "campaign_progress_counts": "all"}
        self.published = {"status": 0, "progress": 0, "malformed": 0}

    def advance(self, now_ms, frozen):
        """Dials what the time since the last call allows (nothing while
        frozen); a campaign that called everyone turns COMPLETE."""
        dt = max(0, now_ms - self.at) / 1000.0
        self.at = max(self.at, now_ms)
        if frozen or dt == 0:
            return
        self.clock += int(dt * 1000)
        for c in self.items:
            if c["status"] in DIALLING:
                was = int(c["called"])
                before = c["called"]
                c["called"] = min(float(c["total"]), c["called"] + c["rate"] * dt)
                if c["called"] > before:
                    c["dialled"] += c["called"] - before
                    c["points"].append((now_ms, c["dialled"]))
                if int(c["called"]) != was:
                    self.publish_progress(c)
                if c["status"] in STOPPED:
                    self.set_status(c, STOPPED[c["status"]])
                elif c["called"] >= c["total"]:
                    self.set_status(c, "complete")

    def set_status(self, c, status, unrecorded=False):
        """status: one of the record's; with unrecorded, any lower-case
        word (a status Genesys may add)."""
        if status not in STATUSES and not (unrecorded and word_ok(status)):
            raise ValueError("campaignStatus must be one of %s (or any word with "
                             "\"unrecorded\")" % "|".join(STATUSES))
        if c["status"] != status:
            self.changes.append((self.clock, c["id"], c["status"], status))
            recycled = c["status"] == "complete" and status == "on"
            if recycled:
                c["called"] = 0.0   # started again: recycled, from the first contact
            c["status"] = status
            self._publish(TOPIC % c["id"], lambda: self.config_change(c), "status")
            if recycled:
                self.publish_progress(c)

    def _publish(self, topic, body, kind):
        if self.hub is not None and self.hub.publish(topic, body):
            self.published[kind] += 1

    def publish_progress(self, c):
        self._publish(PROGRESS_TOPIC % c["id"], lambda: self.progress_event(c), "progress")

    def config_change(self, c):
        """The eventBody of v2.outbound.campaigns.{id}: the campaign's
        configuration (DialerCampaignConfigChangeCampaign: its enums lower
        case in the SDK models; the fields read and a few more)."""
        sdk = self.form() == "sdk"
        return {"id": c["id"], "name": c["name"], "version": 1,
                "contactList": {"id": c["contactList"]["id"], "name": c["contactList"]["name"]},
                "dialingMode": c["dialingMode"].lower() if sdk else c["dialingMode"],
                "campaignStatus": c["status"] if sdk else c["status"].upper(),
                "outboundLineCount": c["outboundLineCount"],
                "division": {"id": c["division"]["id"], "name": c["division"]["name"]}}

    def progress_event(self, c):
        """The eventBody of v2.outbound.campaigns.{id}.progress
        (DialerCampaignProgressEventCampaignProgress: the counts BigDecimal
        / double in the SDK models, percentage an integer); the same counts
        as the route's CampaignProgress."""
        p = self.progress(c)
        num = float if self.form() == "sdk" else int
        out = {"campaign": {"id": c["id"], "name": c["name"]},
               "numberOfContactsMessaged": num(0)}
        for k in ("numberOfContactsCalled", "totalNumberOfContacts"):
            if k in p:   # the form campaign_progress_counts
                out[k] = num(p[k])
        if "percentage" in p:
            out["percentage"] = p["percentage"]
        return out

    def publish_malformed(self, cid):
        """A body of each topic that does not read (a campaignStatus that is
        not a text; a count that is not a number): for the client's count."""
        sent = 0
        if self.hub is not None:
            sent += self.hub.publish(TOPIC % cid, {"id": cid, "campaignStatus": 7})
            sent += self.hub.publish(PROGRESS_TOPIC % cid,
                                     {"campaign": {"id": cid}, "numberOfContactsCalled": "x",
                                      "totalNumberOfContacts": 1.0, "percentage": 0})
        self.published["malformed"] += sent
        return sent

    def listing(self, c):
        """A Campaign entity of GET /api/v2/outbound/campaigns (the fields
        read; the record has many more)."""
        return {"id": c["id"], "name": c["name"], "version": 1,
                "contactList": dict(c["contactList"],
                                    selfUri="/api/v2/outbound/contactlists/" + c["contactList"]["id"]),
                "dialingMode": c["dialingMode"], "campaignStatus": c["status"].upper(),
                "outboundLineCount": c["outboundLineCount"],
                "division": dict(c["division"],
                                 selfUri="/api/v2/authorization/divisions/" + c["division"]["id"]),
                "selfUri": "/api/v2/outbound/campaigns/" + c["id"]}

    def progress(self, c):
        """CampaignProgress: integers; percentage called of total, rounded
        down (UNCONFIRMED rounding). Each count optional in the record: in
        the form campaign_progress_counts "sparse" the entry of every
        campaign of odd position leaves out totalNumberOfContacts, of
        position 2 mod 4 percentage."""
        called = int(c["called"])
        out = {"campaign": {"id": c["id"], "name": c["name"],
                            "selfUri": "/api/v2/outbound/campaigns/" + c["id"]},
               "contactList": {"id": c["contactList"]["id"], "name": c["contactList"]["name"],
                               "selfUri": "/api/v2/outbound/contactlists/"
                               + c["contactList"]["id"]},
               "numberOfContactsCalled": called, "totalNumberOfContacts": c["total"],
               "percentage": called * 100 // c["total"] if c["total"] else 0}
        if self.forms()["campaign_progress_counts"] == "sparse":
            if c["k"] % 2 == 1:
                del out["totalNumberOfContacts"]
            if c["k"] % 4 == 2:
                del out["percentage"]
        return out

    def stats(self, c):
        """CampaignStats: the dialer now. While dialling (ON, STOPPING,
        FORCED_STOPPING) a function of the campaign and the simulated ten
        seconds (it moves); otherwise, a status outside the record too, no
        agents and no calls (UNCONFIRMED what an idle dialer answers). In
        the form campaign_connect_ratio "above_one" more connects than
        attempts (connectRatio above 1: the record sets no bound)."""
        called = int(c["called"])
        attempts = called + called // 7
        connects = called * 2 // 5
        if self.forms()["campaign_connect_ratio"] == "above_one":
            connects = attempts * 5 // 4
        out = {"contactRate": {"attempts": attempts, "connects": connects,
                               "connectRatio": round(connects / attempts, 4) if attempts else 0.0}}
        if c["status"] in DIALLING:
            r = random.Random("%s-%d" % (c["id"], self.clock // 10000))
            idle = r.randrange(0, 6)
            out.update({"idleAgents": idle,
                        "effectiveIdleAgents": round(idle * r.uniform(0.5, 1.0), 2),
                        "adjustedCallsPerAgent": round(r.uniform(1.0, 3.0), 2),
                        "outstandingCalls": r.randrange(0, c["outboundLineCount"] + 1),
                        "scheduledCalls": r.randrange(0, 20),
                        "timeZoneRescheduledCalls": r.randrange(0, 5)})
        else:
            out.update({"idleAgents": 0, "effectiveIdleAgents": 0.0,
                        "adjustedCallsPerAgent": 0.0, "outstandingCalls": 0,
                        "scheduledCalls": 0, "timeZoneRescheduledCalls": 0})
        return out

    @staticmethod
    def _dialled_at(c, t):
        """Attempts of c before simulated instant t: the dialler's
        points, linear between two (its rate was constant between them)."""
        pts = c["points"]
        i = bisect.bisect_right(pts, (t, float("inf")))
        if i == 0:
            return 0.0
        if i == len(pts):
            return pts[-1][1]
        (t0, d0), (t1, d1) = pts[i - 1], pts[i]
        return d0 + (d1 - d0) * (t - t0) / (t1 - t0)

    def interval_counts(self, c, start, end):
        """(attempted, connected, abandoned) of c in [start, end)."""
        a = int(self._dialled_at(c, start))
        b = int(self._dialled_at(c, end))

        def connected(n):   # k < n with k % 5 in (0, 4)
            return (n + 4) // 5 + n // 5

        def abandoned(n):   # k < n with k % 35 == 34 (k % 5 == 4: connected)
            return n // 35
        return b - a, connected(b) - connected(a), abandoned(b) - abandoned(a)

    def aggregates_truth(self, gran, buckets, now):
        """Per closed bucket and campaign with attempts: attempted,
        connected, abandoned (a bucket without attempts is absent)."""
        end = (now // gran) * gran
        out = {}
        for bs in range(end - buckets * gran, end, gran):
            for c in self.items:
                n, conn, ab = self.interval_counts(c, bs, bs + gran)
                if n > 0:
                    out.setdefault(iso(bs) + "/" + iso(bs + gran), {})[c["id"]] = {
                        "attempted": n, "connected": conn, "abandoned": ab}
        return {"granularity_ms": gran, "sim_time_ms": now, "sim_time": iso(now),
                "campaigns": {c["id"]: {"name": c["name"]} for c in self.items},
                "buckets": out}

    def truth(self):
        """Every campaign now: status, progress and stats as answered."""
        out = {}
        for c in self.items:
            out[c["id"]] = {"name": c["name"], "campaignStatus": c["status"].upper(),
                            "progress": self.progress(c), "stats": self.stats(c)}
        return {"campaigns": out, "changes": [list(x) for x in self.changes],
                "requests": dict(self.requests), "published": dict(self.published)}
