// SPDX-License-Identifier: MIT
// Node peer of bench/bench_daemon.py: reads queue observation messages
// from a WebSocket with `ws` (npm), JSON.parse each, keeps the metrics of
// the last message per group in a Map (key: topicName/mediaType); of a
// conversation event, its participants under conv/<id>. When the server
// closes the socket it prints one JSON line: the messages taken and the
// sha256 of the final map in the bench's canonical form.
'use strict';
const crypto = require('crypto');
const WebSocket = require('ws');

const url = process.argv[2];
const groups = new Map();
let messages = 0;

const MEDIA = ['calls', 'chats', 'emails', 'messages', 'callbacks'];

function sessionState(p) {
  for (const k of MEDIA) {
    if (p[k] && p[k].length) return p[k][0].state;
  }
  return '';
}

function checksum(map) {
  const lines = [];
  for (const [key, v] of map) {
    if (key.startsWith('conv/')) {
      lines.push(key + '|' + v.map((p) => `${p.purpose}:${sessionState(p)}`).join(','));
    } else {
      lines.push(key + '|' + v.map(
        (m) => `${m.metric}:${m.qualifier || ''}:${m.stats.count}`).join(','));
    }
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
  if (body && body.participants) {
    messages++;
    groups.set('conv/' + body.id, body.participants);
    return;
  }
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
