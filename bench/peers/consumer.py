#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Python peer of bench/bench_daemon.py: reads queue observation messages
from a WebSocket with Debian's python3-websockets (asyncio), json.loads
each, keeps the metrics of the last message per group in a dict (key:
topicName/mediaType); of a conversation event, its participants under
conv/<id>. When the server closes the socket it prints one JSON line: the
messages taken and the sha256 of the final dict in the bench's canonical
form."""
import asyncio
import hashlib
import json
import sys

import websockets


MEDIA = ("calls", "chats", "emails", "messages", "callbacks")


def session_state(p):
    for k in MEDIA:
        if p.get(k):
            return p[k][0]["state"]
    return ""


def checksum(groups):
    lines = sorted(
        key + "|" + (",".join(f"{p['purpose']}:{session_state(p)}" for p in v)
                     if key.startswith("conv/") else
                     ",".join(f"{m['metric']}:{m.get('qualifier') or ''}:{m['stats']['count']}"
                              for m in v))
        for key, v in groups.items())
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


async def main(url):
    groups = {}
    messages = 0
    async with websockets.connect(url, max_size=None, compression=None,
                                  ping_interval=None) as ws:
        await ws.send(json.dumps({"message": "subscribe"}))
        try:
            async for data in ws:
                msg = json.loads(data)
                body = msg.get("eventBody")
                if body and "participants" in body:
                    messages += 1
                    groups["conv/" + body["id"]] = body["participants"]
                    continue
                if not body or "group" not in body:
                    continue
                messages += 1
                groups[msg["topicName"] + "/" + (body["group"].get("mediaType") or "")] = \
                    body["data"][0]["metrics"]
        except websockets.ConnectionClosed:
            pass
    print(json.dumps({"messages": messages, "groups": len(groups),
                      "checksum": checksum(groups)}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
