# SPDX-License-Identifier: MIT
"""Real-time adherence of workforce management units (README, "Real-time
adherence"): --mgmt-units units, agent i in unit i % units, each agent with
an adherence state, an impact and the time it entered that state. The
simulator answers a unit's listing (UserScheduleAdherenceListing, the REST
model's names: managementUnit.id, timeOfAdherenceChange) and publishes each
change on the unit's topic v2.workforcemanagement.managementunits.{id}.
adherence (one agent's WfmUserScheduleAdherenceUpdatedMuTopicUser
ScheduleAdherenceUpdate: managementUnitId, adherenceChangeTime). States
change only when told (POST /sim/adherence): how often they change in an
org is not in the record. Change times are wall-clock epoch milliseconds.
A unit's answer may be only a downloadUrl (forms adherence_answer and
adherence_download): the listing as it was then, at /sim/downloads/{id}."""
import random
import time
import uuid

STATES = ("InAdherence", "OutOfAdherence", "Unscheduled", "Unknown", "Ignored",
          "Explained")
IMPACTS = ("Positive", "Negative", "Neutral", "Unknown")
# the initial draw: mostly in adherence, some out with every impact
DRAW = (("InAdherence", 60), ("OutOfAdherence", 20), ("Unscheduled", 8),
        ("Unknown", 5), ("Ignored", 4), ("Explained", 3))
TOPIC = "v2.workforcemanagement.managementunits.%s.adherence"
UNITS_PATH = "/api/v2/workforcemanagement/managementunits"
# the listing's feature values (WorkforceManagementApi.md of the python SDK,
# get_workforcemanagement_managementunits; those a monitoring client meets)
FEATURES = ("AgentSchedule", "Agents", "HistoricalAdherence", "IntradayMonitoring",
            "ManagementUnits", "RealTimeAdherence", "Schedules")
DOWNLOADS_KEPT = 1000


def _uuid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class Adherence:
    def __init__(self, model, n_units, seed):
        rng = random.Random("adherence-%s" % seed)
        self.model = model
        self.units = [{"id": _uuid(rng), "name": "Management Unit %02d" % (k + 1),
                       "agents": []} for k in range(n_units)]
        self.unit_by_id = {u["id"]: u for u in self.units}
        self.unit_of = {}
        self.state = {}   # agent id -> {"state", "impact", "since_ms"}
        now = int(time.time() * 1000)
        total = sum(w for _, w in DRAW)
        for a in model.agents if n_units else ():
            u = self.units[a.idx % n_units]
            u["agents"].append(a.id)
            self.unit_of[a.id] = u["id"]
            r, s = rng.randrange(total), None
            for s, w in DRAW:
                if r < w:
                    break
                r -= w
            impact = rng.choice(IMPACTS[:3]) if s == "OutOfAdherence" else "Neutral"
            self.state[a.id] = {"state": s, "impact": impact,
                                "since_ms": now - rng.randint(0, 3600) * 1000}
        self.requests = 0
        self.published = 0
        self.listings = []     # the targets of the units' listing asked
        self.downloads = {}    # id -> (listing, form)
        self.served = {"asked": 0, "served": 0, "with_token": 0, "refused": {}}

    def _common(self, aid):
        a = self.model.agent_by_id[aid]
        st = self.state[aid]
        return {"scheduledActivityCategory": "OnQueueWork",
                "systemPresence": "ON_QUEUE" if st["state"] == "InAdherence" else "BREAK",
                "routingStatus": "IDLE" if st["state"] == "InAdherence" else "OFF_QUEUE",
                "actualActivityCategory": "OnQueueWork" if st["state"] == "InAdherence"
                else "Break",
                "isOutOfOffice": False,
                "adherenceState": st["state"], "impact": st["impact"],
                "activeQueues": [{"id": self.model.queues[q].id} for q in a.joined]}

    def entry(self, aid):
        """UserScheduleAdherence (GET .../managementunits/{id}/adherence)."""
        a = self.model.agent_by_id[aid]
        uid = self.unit_of[aid]
        out = {"id": aid, "name": a.name,
               "user": {"id": aid, "selfUri": "/api/v2/users/" + aid},
               "managementUnit": {"id": uid, "selfUri": UNITS_PATH + "/" + uid},
               "timeOfAdherenceChange": _iso(self.state[aid]["since_ms"]),
               "selfUri": "/api/v2/workforcemanagement/adherence/" + aid}
        out.update(self._common(aid))
        return out

    def update(self, aid):
        """The topic's eventBody (WfmUserScheduleAdherenceUpdatedMuTopic
        UserScheduleAdherenceUpdate)."""
        out = {"user": {"id": aid}, "managementUnitId": self.unit_of[aid],
               "adherenceChangeTime": _iso(self.state[aid]["since_ms"]),
               "removedFromManagementUnit": False}
        out.update(self._common(aid))
        return out

    def listing(self, unit_id):
        self.requests += 1
        return {"entities": [self.entry(aid) for aid in self.unit_by_id[unit_id]["agents"]]}

    def listed(self, target):
        self.listings.append(target)
        del self.listings[:-20]

    def stash(self, listing, form):
        """A listing kept for its downloadUrl (the answer as it was then);
        its id."""
        did = uuid.uuid4().hex
        self.downloads[did] = (listing, form)
        while len(self.downloads) > DOWNLOADS_KEPT:
            self.downloads.pop(next(iter(self.downloads)))
        return did

    def download(self, did, authorization, valid):
        """(status, body) of GET /sim/downloads/{did}: authorization, an
        Authorization header came; valid, a valid bearer token."""
        sv = self.served
        sv["asked"] += 1
        sv["with_token"] += bool(authorization)
        got = self.downloads.get(did)
        if got is None:
            status, body = 404, "no such download"
        elif got[1] == "presigned" and authorization:
            status, body = 400, "only one auth mechanism allowed"
        elif got[1] != "presigned" and not valid:
            status, body = 401, "a bearer token is required"
        else:
            sv["served"] += 1
            return 200, got[0]
        sv["refused"][str(status)] = sv["refused"].get(str(status), 0) + 1
        return status, body

    def set(self, hub, aid, state, impact=None):
        """An agent's adherence changes now, published on its unit's topic."""
        if aid not in self.state or state not in STATES:
            raise ValueError("unknown agent or state")
        st = self.state[aid]
        st["state"] = state
        st["impact"] = impact if impact in IMPACTS else (
            "Negative" if state == "OutOfAdherence" else "Neutral")
        st["since_ms"] = int(time.time() * 1000)
        if hub is not None and hub.publish(TOPIC % self.unit_of[aid],
                                           lambda: self.update(aid)):
            self.published += 1

    def control(self, hub, body):
        """POST /sim/adherence: {"set": [{"user", "state", "impact"}],
        "random": n (agents drawn anew), "malformed": unit id (a body
        without user)}."""
        done = 0
        for s in body.get("set") or ():
            self.set(hub, s["user"], s["state"], s.get("impact"))
            done += 1
        rng = random.Random(body.get("seed", 0))
        ids = sorted(self.state)
        for _ in range(int(body.get("random", 0))):
            st = rng.choice(STATES)
            self.set(hub, rng.choice(ids), st,
                     rng.choice(IMPACTS[:3]) if st == "OutOfAdherence" else None)
            done += 1
        sent = 0
        if body.get("malformed"):
            sent = hub.publish(TOPIC % body["malformed"],
                               {"adherenceState": "OutOfAdherence", "impact": 7})
        return {"changed": done, "malformed_sent": sent}

    def truth(self):
        """Per unit: agents by state, those out by impact, and the change
        time of each agent out (the client's longest and summed seconds are
        computed at its own instant); per agent its unit and state (which
        agent to change, which a client notified)."""
        out = {}
        for u in self.units:
            states = {s: 0 for s in STATES}
            impacts = {i: 0 for i in IMPACTS}
            since = []
            for aid in u["agents"]:
                st = self.state[aid]
                states[st["state"]] += 1
                if st["state"] == "OutOfAdherence":
                    impacts[st["impact"]] += 1
                    since.append(st["since_ms"])
            out[u["id"]] = {"name": u["name"], "states": states, "out_impacts": impacts,
                            "out_since_ms": since}
        agents = {aid: {"unit": self.unit_of[aid], "state": st["state"]}
                  for aid, st in self.state.items()}
        return {"units": out, "agents": agents, "requests": self.requests,
                "published": self.published, "listings": list(self.listings),
                "downloads": dict(self.served, refused=dict(self.served["refused"]))}


def _iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)
