#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Python exporter peer of bench/bench_daemon.py: reads queue observation
messages from a WebSocket with Debian's python3-websockets (asyncio),
json.loads each, and sets one python3-prometheus-client gauge per queue,
media type, metric and qualifier (the stats count), served on /metrics at
the port given. When the server closes the socket it prints one JSON line
(the messages taken) and keeps serving /metrics until killed, so the bench
can scrape the final values."""
import asyncio
import json
import sys

import prometheus_client
import websockets


async def main(url, port):
    registry = prometheus_client.CollectorRegistry()
    gauge = prometheus_client.Gauge("genesys_observation",
                                    "Last stats.count of a queue observation metric",
                                    ["queue", "media", "metric", "qualifier"],
                                    registry=registry)
    prometheus_client.start_http_server(port, addr="127.0.0.1", registry=registry)
    messages = 0
    async with websockets.connect(url, max_size=None, compression=None,
                                  ping_interval=None) as ws:
        await ws.send(json.dumps({"message": "subscribe"}))
        try:
            async for data in ws:
                msg = json.loads(data)
                body = msg.get("eventBody")
                if not body or not body.get("group", {}).get("queueId"):
                    continue
                messages += 1
                queue = body["group"]["queueId"]
                media = body["group"].get("mediaType") or ""
                for d in body["data"]:
                    for m in d["metrics"]:
                        count = m.get("stats", {}).get("count")
                        if count is not None:
                            gauge.labels(queue, media, m["metric"],
                                         m.get("qualifier") or "").set(count)
        except websockets.ConnectionClosed:
            pass
    print(json.dumps({"messages": messages}), flush=True)
    await asyncio.Event().wait()  # /metrics stays up until the bench kills us


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
