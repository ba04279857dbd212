// SPDX-License-Identifier: MIT
// Node peer of bench/bench_daemon.py: reads queue observation messages
// from a WebSocket with `ws` (npm), JSON.parse each, keeps the metrics of
// the last message per group in a Map (key: topicName/mediaType). When the
// server closes the socket it prints one JSON line: the messages taken and
// the sha256 of the final map in the bench's canonical form.
'use strict';
const crypto = require('crypto');
const WebSocket = require('ws');

const url = process.argv[2];
const groups = new Map();
let messages = 0;

function checksum(map) {
  const lines = [];
  for (const [key, metrics] of map) {
    lines.push(key + '|' + metrics.map(
      (m) => `${m.metric}:${m.qualifier || ''}:${m.stats.count}`).join(','));
  }
  lines.sort();
  return crypto.createHash('sha256').update(lines.join('\n')).digest('hex');
}

const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 0 });
ws.on('open', () => {
  ws.send(JSON.stringify({ message: 'subscribe' }));
});
ws.on('message', (data) => {
  const msg = JSON.parse(data);
  const body = msg.eventBody;
  if (!body || !body.group) return;
  messages++;
  groups.set(msg.topicName + '/' + (body.group.mediaType || ''), body.data[0].metrics);
});
ws.on('close', () => {
  process.stdout.write(JSON.stringify({ messages, groups: groups.size,
                                        checksum: checksum(groups) }) + '\n');
  process.exit(0);
});
ws.on('error', (e) => { console.error(String(e)); process.exit(2); });
