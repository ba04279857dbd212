# SPDX-License-Identifier: MIT
"""Telephony and platform health of the simulated org (README, "Telephony
and platform health"): edges and trunks whose state and metrics change
every --platform-slot simulated seconds, deterministic from the seed and
the slot, and a Statuspage document of the Genesys Cloud status page. The
listings, the metrics endpoints, the status page and /sim/truth/platform
are all computed from the same functions, so they agree for any time.
Besides the org's own edges, cloud-media edges (Genesys runs them; listed
unless showCloudMedia=false) and PHONE trunks (listed without trunkType)."""

import random
import zlib

from simmodel import det_uuid, iso

MAX_IDS = 100        # edgeIds per request: the SDK documentation; trunkIds UNCONFIRMED
PAGE_MAX = 100       # pageSize of the telephony listings: UNCONFIRMED
GIB = 1 << 30
LEVELS = ("operational", "under_maintenance", "degraded_performance", "partial_outage",
          "major_outage")
GROUPS = ("Americas (US East)", "EMEA (Frankfurt)")
COMPONENTS = ("Voice", "Digital", "Analytics", "Platform API")
# components outside any group (made up, as the others)
UNGROUPED = ("Login", "Developer Center")
# how old the metrics of an offline edge (and of its trunks) are
STALE_MS = 3 * 3600 * 1000
# a status the plugin does not know: the truth says no value
UNKNOWN_STATUS = "investigating_new_state"


class Platform:
    def __init__(self, seed, edges, trunks, slot_ms, cloud_media=0, phone_trunks=0):
        r = random.Random("platform-%s" % seed)
        self.seed = seed
        self.slot_ms = slot_ms
        self.edges = [{"id": det_uuid(r), "name": "Edge %d" % (i + 1), "cloud": False}
                      for i in range(edges)]
        self.trunks = []
        for i in range(trunks):
            edge = self.edges[i % edges] if edges else None
            self.trunks.append({"id": det_uuid(r), "name": "Carrier trunk %d" % (i + 1),
                                "edge": edge, "type": "EXTERNAL"})
        self.edges += [{"id": det_uuid(r), "name": "Cloud Media %d" % (i + 1), "cloud": True}
                       for i in range(cloud_media)]
        for i in range(phone_trunks):
            edge = self.edges[i % edges] if edges else None
            self.trunks.append({"id": det_uuid(r), "name": "Phone trunk %d" % (i + 1),
                                "edge": edge, "type": "PHONE"})
        self.edge_index = {e["id"]: i for i, e in enumerate(self.edges)}
        self.trunk_index = {t["id"]: i for i, t in enumerate(self.trunks)}
        self.groups = [{"id": det_uuid(r), "name": g} for g in GROUPS]
        self.components = [{"id": det_uuid(r), "name": c, "group": g}
                           for g in self.groups for c in COMPONENTS]
        self.components += [{"id": det_uuid(r), "name": c, "group": None} for c in UNGROUPED]

    def h(self, *parts):
        return zlib.crc32(("%s|" % self.seed + "|".join(map(str, parts))).encode())

    def slot(self, now_ms):
        return now_ms // self.slot_ms

    # ---- edges
    def edge_state(self, i, s):
        """(onlineStatus, statusCode) of edge i in slot s."""
        # one edge in five offline in turn: with five or more, one in every
        # slot (tests see both states in any two slots)
        online = "OFFLINE" if (i + s) % 5 == 0 else "ONLINE"
        code = "INACTIVE" if self.h("code", i, s) % 7 == 0 else "ACTIVE"
        return online, code

    def edge_doc(self, i, s):
        e = self.edges[i]
        online, code = self.edge_state(i, s)
        return {"id": e["id"], "name": e["name"], "state": "active", "onlineStatus": online,
                "statusCode": code, "edgeDeploymentType": "CDM" if e["cloud"] else "HARDWARE",
                "managed": e["cloud"], "physicalEdge": not e["cloud"],
                "selfUri": "/api/v2/telephony/providers/edges/" + e["id"]}

    def edge_current(self, i, s):
        return self.edge_state(i, s)[0] == "ONLINE"

    def edge_metrics(self, i, s, now_ms, stale=False):
        """EdgeMetrics of edge i in slot s at now_ms: None while it is
        offline, or with stale its last metrics, STALE_MS old by
        eventTime."""
        offline = not self.edge_current(i, s)
        if offline and not stale:
            return None
        e = self.edges[i]
        active = (self.h("cpu", i, s) % 1000) / 10.0
        mem_total = 16 * GIB
        mem_avail = (self.h("mem", i, s) % 16000) * (GIB // 1000)
        disks = []
        for k, part in enumerate(("C:\\", "D:\\")):
            total = (100 + 100 * k) * GIB
            disks.append({"partitionName": part, "totalBytes": total,
                          "availableBytes": (self.h("disk", i, k, s) % 100000) * (GIB // 1000)})
        boot = self.h("boot", i) % 86400000
        return {"edge": {"id": e["id"], "selfUri": "/api/v2/telephony/providers/edges/" + e["id"]},
                "eventTime": iso(now_ms - STALE_MS if offline else now_ms),
                "upTimeMsec": boot + s * self.slot_ms % 86400000,
                "processors": [{"cpuId": "0", "activeTimePct": active, "idleTimePct": 100 - active},
                               {"cpuId": "total", "activeTimePct": active,
                                "idleTimePct": round(100 - active, 1)}],
                "memory": [{"type": "physical", "totalBytes": mem_total,
                            "availableBytes": mem_avail},
                           {"type": "virtual", "totalBytes": 2 * mem_total,
                            "availableBytes": mem_avail + mem_total}],
                "disks": disks}

    # ---- trunks
    def trunk_state(self, i, s):
        """(connected, inService, enabled) of trunk i in slot s; enabled is
        its edge in service."""
        t = self.trunks[i]
        connected = (i + s) % 4 != 0   # one in four in turn, as the edges
        in_service = self.h("svc", i, s) % 6 != 0
        enabled = (t["edge"] is not None
                   and self.edge_state(self.edge_index[t["edge"]["id"]], s)[1] == "ACTIVE")
        return connected, in_service, enabled

    def trunk_doc(self, i, s):
        t = self.trunks[i]
        connected, in_service, enabled = self.trunk_state(i, s)
        d = {"id": t["id"], "name": t["name"], "state": "active", "trunkType": t["type"],
             "inService": in_service, "enabled": enabled,
             "connectedStatus": {"connected": connected,
                                 "connectedStateTime": iso(s * self.slot_ms)},
             "selfUri": "/api/v2/telephony/providers/edges/trunks/" + t["id"]}
        if t["edge"] is not None:
            d["edge"] = {"id": t["edge"]["id"],
                         "selfUri": "/api/v2/telephony/providers/edges/" + t["edge"]["id"]}
        return d

    def trunk_calls(self, i, s):
        return self.h("in", i, s) % 48, self.h("out", i, s) % 24

    def trunk_current(self, i, s):
        """A trunk's metrics are current while its edge is online."""
        t = self.trunks[i]
        return t["edge"] is None or self.edge_current(self.edge_index[t["edge"]["id"]], s)

    def trunk_metrics(self, i, s, now_ms, stale=True):
        """TrunkMetrics of trunk i in slot s at now_ms; while its edge is
        offline STALE_MS old by eventTime (stale), or None."""
        t = self.trunks[i]
        current = self.trunk_current(i, s)
        if not current and not stale:
            return None
        inbound, outbound = self.trunk_calls(i, s)
        return {"trunk": {"id": t["id"],
                          "selfUri": "/api/v2/telephony/providers/edges/trunks/" + t["id"]},
                "eventTime": iso(now_ms if current else now_ms - STALE_MS),
                "calls": {"inboundCallCount": inbound, "outboundCallCount": outbound},
                "qos": {"mismatchCount": 0}}

    # ---- status page
    def component_status(self, k, s):
        if k == len(self.components) - 1 and s % 2 == 0:
            return UNKNOWN_STATUS   # every other slot
        v = self.h("status", k, s) % 8
        return LEVELS[v] if v < len(LEVELS) else "operational"

    def status_doc(self, s, now_ms, link="both"):
        """GET <status page>/api/v2/components.json (Statuspage). link: how
        a component names its group: both (group_id, and the group's
        components list, as Statuspage answers), group_id, components."""
        comps = []
        for g in self.groups:
            d = {"id": g["id"], "name": g["name"], "status": "operational",
                 "group": True, "group_id": None, "position": len(comps) + 1}
            if link != "group_id":
                d["components"] = [c["id"] for c in self.components if c["group"] is g]
            comps.append(d)
        for k, c in enumerate(self.components):
            gid = c["group"]["id"] if c["group"] is not None else None
            comps.append({"id": c["id"], "name": c["name"], "status": self.component_status(k, s),
                          "group": False, "group_id": gid if link != "components" else None,
                          "position": k + 1, "only_show_if_degraded": False,
                          "created_at": "2020-01-01T00:00:00.000Z",
                          "updated_at": iso(s * self.slot_ms)})
        return {"page": {"id": "simpage", "name": "Genesys Cloud (simulated)",
                         "url": "https://status.mypurecloud.com", "updated_at": iso(now_ms)},
                "components": comps}

    # ---- truth
    def truth(self, now_ms):
        s = self.slot(now_ms)
        edges = {}
        for i, e in enumerate(self.edges):
            online, code = self.edge_state(i, s)
            m = self.edge_metrics(i, s, now_ms)
            v = {"name": e["name"], "online": online == "ONLINE", "active": code == "ACTIVE",
                 "cloud_media": e["cloud"], "deployment": "CDM" if e["cloud"] else "HARDWARE",
                 "metrics": None}
            if m is not None:
                total = [p for p in m["processors"] if p["cpuId"] == "total"][0]
                v["metrics"] = {
                    "cpu_active": total["activeTimePct"],
                    "memory": {x["type"]: {"used": x["totalBytes"] - x["availableBytes"],
                                           "available": x["availableBytes"]}
                               for x in m["memory"]},
                    "disks": {x["partitionName"]: {"used": x["totalBytes"] - x["availableBytes"],
                                                   "available": x["availableBytes"]}
                              for x in m["disks"]},
                    "uptime_s": m["upTimeMsec"] / 1000.0}
            edges[e["id"]] = v
        trunks = {}
        for i, t in enumerate(self.trunks):
            connected, in_service, enabled = self.trunk_state(i, s)
            inbound, outbound = self.trunk_calls(i, s)
            trunks[t["id"]] = {"name": t["name"], "type": t["type"], "connected": connected,
                               "in_service": in_service, "edge_in_service": enabled,
                               "inbound": inbound, "outbound": outbound,
                               "metrics_current": self.trunk_current(i, s)}
        comps = []
        for k, c in enumerate(self.components):
            st = self.component_status(k, s)
            comps.append({"group": c["group"]["name"] if c["group"] else "",
                          "name": c["name"], "status": st,
                          "level": LEVELS.index(st) if st in LEVELS else None})
        return {"sim_time_ms": now_ms, "sim_time": iso(now_ms), "slot_ms": self.slot_ms,
                "slot_start_ms": s * self.slot_ms, "levels": list(LEVELS),
                "edges": edges, "trunks": trunks, "components": comps}
