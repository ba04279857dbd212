// SPDX-License-Identifier: MIT
// Node exporter peer of bench/bench_footprint.py: holds the series of a
// Prometheus text file (one scrape of collectd's write_prometheus) as
// prom-client gauges of the same names, labels and values, served on
// /metrics at the port given: what an exporter written in Node keeps for
// the same live series. The file is read a line at a time (its text is not
// kept); once every series is set, a full GC (node --expose-gc), then one
// JSON line: the series held and the metric names.
'use strict';
const fs = require('fs');
const http = require('http');
const readline = require('readline');
const client = require('prom-client');

const file = process.argv[2];
const port = Number(process.argv[3]);
const registry = new client.Registry();
const pending = new Map(); // name -> [[labels, value]] until its names are known

// name{k="v",...} value [timestamp]; write_prometheus escapes \ " and \n
function parse(line) {
  const brace = line.indexOf('{');
  let name;
  let labels = {};
  let tail;
  if (brace < 0) {
    const sp = line.indexOf(' ');
    name = line.slice(0, sp);
    tail = line.slice(sp + 1);
  } else {
    name = line.slice(0, brace);
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/y;
    let i = brace + 1;
    for (;;) {
      re.lastIndex = i;
      const m = re.exec(line);
      if (!m) break;
      labels[m[1]] = m[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
      i = re.lastIndex;
      if (line[i] === ',') i++;
    }
    tail = line.slice(line.indexOf('}', i) + 2);
  }
  return [name, labels, Number(tail.split(' ')[0])];
}

async function main() {
  const rl = readline.createInterface({ input: fs.createReadStream(file) });
  for await (const line of rl) {
    if (line === '' || line[0] === '#') continue;
    const [name, labels, value] = parse(line);
    if (!pending.has(name)) pending.set(name, []);
    pending.get(name).push([labels, value]);
  }
  // a gauge a name, its label names the union of its series' (a series
  // without one leaves it out, as write_prometheus does)
  let series = 0;
  for (const [name, list] of pending) {
    const names = new Set();
    for (const [labels] of list) for (const k of Object.keys(labels)) names.add(k);
    const g = new client.Gauge({ name, help: name, labelNames: [...names], registers: [registry] });
    for (const [labels, value] of list) g.set(labels, value);
    series += list.length;
    pending.set(name, null);
  }
  pending.clear();
  if (global.gc) global.gc();
  http.createServer(async (req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    const text = await registry.metrics();
    res.writeHead(200, { 'Content-Type': registry.contentType }).end(text);
  }).listen(port, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ series, names: registry.getMetricsAsArray().length }) + '\n');
  });
  process.on('SIGUSR2', () => { if (global.gc) global.gc(); });
}

main().catch((e) => { console.error(String(e.stack || e)); process.exit(2); });
