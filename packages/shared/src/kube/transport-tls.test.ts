import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { FakeClock } from '../lifecycle/clock.js';
import { createKubeClient } from './client.js';
import { CREDENTIAL_FILE_REFRESH_MS } from './connection.js';
import { httpListWatcher } from './list-watch.js';
import { PERSISTENT_VOLUMES } from './resources.js';

// A TLS apiserver stand-in that requires a client certificate, like kube-apiserver with x509 auth.
const fixtures = path.join(import.meta.dirname, '__fixtures__', 'tls');
const read = (f: string) => fs.readFileSync(path.join(fixtures, f));

let server: https.Server;
let dir: string;
let connections = 0;
const peers: string[] = [];

beforeAll(async () => {
  server = https.createServer({ key: read('server.key'), cert: read('server.crt'), ca: read('ca.crt'), requestCert: true, rejectUnauthorized: true }, (req, res) => {
    peers.push(String((req.socket as TLSSocket).getPeerCertificate().subject?.CN));
    if (req.url?.includes('watch=true')) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'w', resourceVersion: '2' } } })}\n`);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'PersistentVolumeList', apiVersion: 'v1', items: [], metadata: { resourceVersion: '1' } }));
  });
  server.on('secureConnection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tls-kubeconfig-'));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

function kubeconfig(caFile: string, certFile = path.join(fixtures, 'client.crt'), keyFile = path.join(fixtures, 'client.key')): string {
  const port = (server.address() as { port: number }).port;
  const file = path.join(dir, `kubeconfig-${path.basename(caFile)}`);
  fs.writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: c',
      '  cluster:',
      `    server: https://127.0.0.1:${port}`,
      `    certificate-authority: ${caFile}`,
      'users:',
      '- name: u',
      '  user:',
      `    client-certificate: ${certFile}`,
      `    client-key: ${keyFile}`,
      'contexts:',
      '- name: x',
      '  context: {cluster: c, user: u}',
      'current-context: x',
      '',
    ].join('\n'),
  );
  return file;
}

describe('transport over TLS with a client certificate', () => {
  it('verifies the server, presents the client certificate and reuses one connection', async () => {
    const client = createKubeClient({ kubeconfig: kubeconfig(path.join(fixtures, 'ca.crt')), qps: -1 });
    try {
      // Load client-node's typed classes first (seconds on a busy machine): see client.test.ts.
      const typedApis = await client.typed();
      const before = connections;
      for (let i = 0; i < 3; i++) await client.request({ method: 'GET', path: '/api/v1/persistentvolumes' });
      const typed = await typedApis.core.listPersistentVolume();
      expect(typed.items).toEqual([]);
      // Keep-alive: sequential requests share one TLS connection.
      expect(connections - before).toBe(1);
      const events = [];
      const ac = new AbortController();
      for await (const ev of await httpListWatcher(client, { resource: PERSISTENT_VOLUMES }).watch({ resourceVersion: '1', timeoutSeconds: 300, allowWatchBookmarks: true, signal: ac.signal })) {
        events.push(ev);
      }
      expect(events).toEqual([{ type: 'ADDED', object: { metadata: { name: 'w', resourceVersion: '2' } } }]);
      expect(new Set(peers)).toEqual(new Set(['csi-provisioner']));
      // Watches have their own pool, so a long watch never holds a socket ordinary requests wait for.
      expect(connections - before).toBe(2);
    } finally {
      client.dispose();
    }
  });

  it('refuses a server its CA did not sign', async () => {
    const client = createKubeClient({ kubeconfig: kubeconfig(path.join(fixtures, 'client.crt')), qps: -1 });
    try {
      await expect(client.request({ method: 'GET', path: '/api/v1/persistentvolumes' })).rejects.toThrow(/certificate/);
    } finally {
      client.dispose();
    }
  });

  it('keeps its connections when re-read files are unchanged and follows a rotated CA file', async () => {
    const files = fs.mkdtempSync(path.join(dir, 'rotating-'));
    const ca = path.join(files, 'ca.crt');
    const cert = path.join(files, 'client.crt');
    const key = path.join(files, 'client.key');
    fs.writeFileSync(ca, read('ca.crt'));
    fs.writeFileSync(cert, read('client.crt'));
    fs.writeFileSync(key, read('client.key'));
    const clock = new FakeClock();
    const client = createKubeClient({ kubeconfig: kubeconfig(ca, cert, key), qps: -1, clock });
    const get = () => client.request({ method: 'GET', path: '/api/v1/persistentvolumes' });
    try {
      const before = connections;
      await get();
      await clock.advance(CREDENTIAL_FILE_REFRESH_MS + 1);
      await get();
      // The files were read again with the same content: same identity, same pooled connection.
      expect(connections - before).toBe(1);
      // A CA that did not sign the server: once re-read, new connections refuse the server.
      fs.writeFileSync(ca, read('client.crt'));
      await clock.advance(CREDENTIAL_FILE_REFRESH_MS + 1);
      await expect(get()).rejects.toThrow(/certificate/);
      fs.writeFileSync(ca, read('ca.crt'));
      await clock.advance(CREDENTIAL_FILE_REFRESH_MS + 1);
      await get();
    } finally {
      client.dispose();
    }
  });
});
