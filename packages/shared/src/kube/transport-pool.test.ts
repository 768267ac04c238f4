import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { KubeConnection } from './connection.js';
import { KubeTransport } from './transport.js';

// A server that answers ordinary requests after a short delay (so a burst overlaps) and holds
// watches open until the client goes away.
let server: http.Server;
let connection: KubeConnection;
let connections = 0;
let inFlight = 0;
let maxInFlight = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url?.includes('watch=true')) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      return;
    }
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    setTimeout(() => {
      inFlight--;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    }, 20);
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  connection = { server: `http://127.0.0.1:${port}`, applyToHTTPSOptions: () => Promise.resolve() };
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('transport connection pools', () => {
  it('sends a burst over at most maxSockets connections, reused by the next burst', async () => {
    const t = new KubeTransport({ connection, maxSockets: 3 });
    try {
      connections = 0;
      maxInFlight = 0;
      for (let burst = 0; burst < 2; burst++) {
        const answers = await Promise.all(Array.from({ length: 12 }, () => t.request({ method: 'GET', path: '/api/v1/nodes' })));
        expect(answers.every((a) => a.status === 200)).toBe(true);
      }
      expect(maxInFlight).toBeGreaterThan(0);
      expect(maxInFlight).toBeLessThanOrEqual(3);
      expect(connections).toBe(3);
    } finally {
      t.dispose();
    }
  });

  it('opens watches beyond maxSockets on their own connections, leaving ordinary requests room', async () => {
    const t = new KubeTransport({ connection, maxSockets: 2 });
    const ac = new AbortController();
    try {
      connections = 0;
      const watches = await Promise.all(
        Array.from({ length: 4 }, () => t.stream({ method: 'GET', path: '/api/v1/pods', query: { watch: 'true' }, signal: ac.signal, timeoutMs: 3000 })),
      );
      expect(watches.map((w) => w.status)).toEqual([200, 200, 200, 200]);
      const answers = await Promise.all(Array.from({ length: 4 }, () => t.request({ method: 'GET', path: '/api/v1/nodes', timeoutMs: 5000 })));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
      // Four watch connections plus at most two for the requests.
      expect(connections).toBeLessThanOrEqual(6);
    } finally {
      ac.abort();
      t.dispose();
    }
  });

  it('refuses a socket cap below one, naming it', () => {
    expect(() => new KubeTransport({ connection, maxSockets: 0 })).toThrow(/maxSockets must be at least 1/);
  });
});
