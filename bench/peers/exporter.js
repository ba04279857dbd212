// SPDX-License-Identifier: MIT
// Node exporter peer of bench/bench_daemon.py: reads queue observation
// messages from a WebSocket with `ws` (npm), JSON.parse each, and sets one
// prom-client gauge per queue, media type, metric and qualifier (the
// stats count), served on /metrics at the port given. When the server
// closes the socket it prints one JSON line (the messages taken) and keeps
// serving /metrics until killed, so the bench can scrape the final values.
'use strict';
const http = require('http');
const WebSocket = require('ws');
const client = require('prom-client');

const url = process.argv[2];
const port = Number(process.argv[3]);
const registry = new client.Registry();
const gauge = new client.Gauge({
  name: 'genesys_observation',
  help: 'Last stats.count of a queue observation metric',
  labelNames: ['queue', 'media', 'metric', 'qualifier'],
  registers: [registry],
});
let messages = 0;

http.createServer(async (req, res) => {
  if (req.url !== '/metrics') {
    res.writeHead(404).end();
    return;
  }
  const text = await registry.metrics();
  res.writeHead(200, { 'Content-Type': registry.contentType }).end(text);
}).listen(port, '127.0.0.1');

const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 0 });
ws.on('open', () => {
  ws.send(JSON.stringify({ message: 'subscribe' }));
});
ws.on('message', (data) => {
  const msg = JSON.parse(data);
  const body = msg.eventBody;
  if (!body || !body.group || !body.group.queueId) return;
  messages++;
  const queue = body.group.queueId;
  const media = body.group.mediaType || '';
  for (const d of body.data) {
    for (const m of d.metrics) {
      if (!m.stats || m.stats.count === undefined) continue;
      gauge.set({ queue, media, metric: m.metric, qualifier: m.qualifier || '' },
        m.stats.count);
    }
  }
});
ws.on('close', () => {
  process.stdout.write(JSON.stringify({ messages }) + '\n');
});
ws.on('error', (e) => { console.error(String(e)); process.exit(2); });
