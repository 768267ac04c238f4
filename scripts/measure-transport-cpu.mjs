#!/usr/bin/env node
// Client CPU of the Kubernetes transport for bursts of requests over TLS with a client
// certificate (what a sidecar pays for connections and handshakes, without the apiserver's cost).
// The server runs in a child process so only the client's CPU is counted.
//
//   node scripts/measure-transport-cpu.mjs [--dist packages/shared/dist] [--requests 600]
//        [--burst 100] [--runs 5] [--max-sockets 32[,16,...]]
//
// Prints, per socket cap, the client CPU (user+system ms) of each run and the TLS connections the
// server accepted. Build first (npm run build). --dist may point at an older build to compare.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(import.meta.dirname, '..');
const fixtures = path.join(root, 'packages/shared/src/kube/__fixtures__/tls');
const read = (f) => fs.readFileSync(path.join(fixtures, f));

if (process.argv[2] === '--serve') {
  let connections = 0;
  const body = JSON.stringify({ kind: 'PersistentVolumeList', apiVersion: 'v1', items: [], metadata: { resourceVersion: '1' } });
  const server = https.createServer({ key: read('server.key'), cert: read('server.crt'), ca: read('ca.crt'), requestCert: true, rejectUnauthorized: true }, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(body);
  });
  server.on('secureConnection', () => connections++);
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('message', (m) => {
    if (m === 'count') process.send({ connections });
    if (m === 'reset') {
      server.closeAllConnections();
      connections = 0;
      process.send({ reset: true });
    }
  });
} else {
  const { values } = parseArgs({
    options: {
      dist: { type: 'string', default: path.join(root, 'packages/shared/dist') },
      requests: { type: 'string', default: '600' },
      burst: { type: 'string', default: '100' },
      runs: { type: 'string', default: '5' },
      'max-sockets': { type: 'string', default: '' },
    },
  });
  const shared = await import(pathToFileURL(path.join(path.resolve(values.dist), 'index.js')).href);
  const child = fork(import.meta.filename, ['--serve']);
  const ask = (m) =>
    new Promise((resolve) => {
      child.once('message', resolve);
      if (m) child.send(m);
    });
  const { port } = await ask();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transport-cpu-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  fs.writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: c',
      `  cluster: {server: "https://127.0.0.1:${port}", certificate-authority: "${path.join(fixtures, 'ca.crt')}"}`,
      'users:',
      '- name: u',
      `  user: {client-certificate: "${path.join(fixtures, 'client.crt')}", client-key: "${path.join(fixtures, 'client.key')}"}`,
      'contexts:',
      '- name: x',
      '  context: {cluster: c, user: u}',
      'current-context: x',
      '',
    ].join('\n'),
  );
  const total = Number(values.requests);
  const burst = Number(values.burst);
  const caps = values['max-sockets'] ? values['max-sockets'].split(',').map(Number) : [undefined];
  try {
    for (const cap of caps) {
      const cpu = [];
      const conns = [];
      for (let run = 0; run < Number(values.runs); run++) {
        await ask('reset');
        const client = shared.createKubeClient({ kubeconfig, qps: -1 });
        const transport = cap === undefined ? client.transport : new shared.KubeTransport({ connection: client.connection, maxSockets: cap });
        // One warm-up request: module loading and the first handshake are not what is measured.
        await transport.request({ method: 'GET', path: '/api/v1/persistentvolumes' });
        const before = process.cpuUsage();
        for (let sent = 0; sent < total; sent += burst) {
          const n = Math.min(burst, total - sent);
          await Promise.all(Array.from({ length: n }, () => transport.request({ method: 'GET', path: '/api/v1/persistentvolumes' })));
        }
        const used = process.cpuUsage(before);
        cpu.push(Math.round((used.user + used.system) / 1000));
        conns.push((await ask('count')).connections);
        transport.dispose();
        client.dispose();
      }
      const sorted = [...cpu].sort((a, b) => a - b);
      console.log(
        `max-sockets ${cap ?? 'default'}: client CPU ms ${cpu.join(' ')} (median ${sorted[Math.floor(sorted.length / 2)]}), TLS connections ${conns.join(' ')}`,
      );
    }
  } finally {
    child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
