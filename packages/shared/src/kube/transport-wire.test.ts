import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { KubeConnection } from './connection.js';
import { TokenBucket } from './token-bucket.js';
import { KubeTransport } from './transport.js';

function transport(server: string, limiter?: TokenBucket): KubeTransport {
  const connection: KubeConnection = { server, applyToHTTPSOptions: () => Promise.resolve() };
  return new KubeTransport({ connection, limiter });
}

/** A plain HTTP server on loopback for the enclosing describe block; returns its base URL. */
function useLocalServer(handler: http.RequestListener): () => string {
  let server: http.Server | undefined;
  let base = '';
  beforeAll(async () => {
    const s = http.createServer(handler);
    server = s;
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(s.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    const s = server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  });
  return () => base;
}

describe('KubeTransport.url', () => {
  it('joins the server URL (with or without a path prefix and trailing slash) and the path', () => {
    expect(transport('https://10.0.0.1:6443').url('/api/v1/pods').href).toBe('https://10.0.0.1:6443/api/v1/pods');
    expect(transport('https://h.example/prefix/').url('/api/v1/pods').href).toBe('https://h.example/prefix/api/v1/pods');
    expect(transport('https://[::1]:6443/p').url('/api').href).toBe('https://[::1]:6443/p/api');
  });

  it('adds the defined query values in order, form-encoded, after a query the path already has', () => {
    const t = transport('https://h.example:6443');
    expect(t.url('/api/v1/pods', { fieldManager: undefined, dryRun: undefined }).href).toBe('https://h.example:6443/api/v1/pods');
    expect(t.url('/api/v1/pods', { labelSelector: 'a in (x,y)', limit: 500, watch: true, skip: undefined }).href).toBe(
      'https://h.example:6443/api/v1/pods?labelSelector=a+in+%28x%2Cy%29&limit=500&watch=true',
    );
    expect(t.url('/api/v1/pods?limit=1', { limit: 2, continue: 'abc=' }).href).toBe('https://h.example:6443/api/v1/pods?limit=2&continue=abc%3D');
    expect(t.url('/api/v1/pods?x=a%20b').href).toBe('https://h.example:6443/api/v1/pods?x=a%20b');
  });
});

// A body that arrives in several chunks is joined; one that arrives in one chunk is used as is.
describe('buffered responses', () => {
  const big = JSON.stringify({ items: Array.from({ length: 3000 }, (_, i) => ({ name: `item-${i}`, pad: 'x'.repeat(40) })) });
  const base = useLocalServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    if (req.url === '/small') {
      res.end('{"a":"ü"}');
      return;
    }
    // Split inside a multi-byte character, over several writes.
    const buf = Buffer.from(big.replace('item-7"', 'itém-7"'));
    res.write(buf.subarray(0, 1001));
    setTimeout(() => res.end(buf.subarray(1001)), 5);
  });

  it('parses small and multi-chunk bodies', async () => {
    const t = transport(base());
    try {
      expect(await t.requestJson({ method: 'GET', path: '/small' })).toEqual({ a: 'ü' });
      const got = await t.requestJson<{ items: { name: string }[] }>({ method: 'GET', path: '/big' });
      expect(got.items).toHaveLength(3000);
      expect(got.items[7]!.name).toBe('itém-7');
      expect(got.items[2999]!.name).toBe('item-2999');
    } finally {
      t.dispose();
    }
  });
});

describe('request bodies', () => {
  const seen: { length: string | undefined; type: string | undefined; body: string }[] = [];
  const base = useLocalServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ length: req.headers['content-length'], type: req.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
  });

  it('sends objects as JSON, strings and Buffers as they are, with the byte length (multi-byte text included)', async () => {
    const t = transport(base());
    try {
      await t.requestJson({ method: 'POST', path: '/a', body: { msg: 'grüße ✓' } });
      await t.requestJson({ method: 'PATCH', path: '/b', body: '{"x":"é"}', contentType: 'application/merge-patch+json' });
      await t.requestJson({ method: 'PUT', path: '/c', body: Buffer.from('{"b":"ü"}') });
    } finally {
      t.dispose();
    }
    expect(seen).toEqual([
      { length: String(Buffer.byteLength('{"msg":"grüße ✓"}')), type: 'application/json', body: '{"msg":"grüße ✓"}' },
      { length: String(Buffer.byteLength('{"x":"é"}')), type: 'application/merge-patch+json', body: '{"x":"é"}' },
      { length: String(Buffer.byteLength('{"b":"ü"}')), type: 'application/json', body: '{"b":"ü"}' },
    ]);
  });
});

// Events ask for 'deferrable': the limiter sends the requests queued behind them first.
describe('rate limiter priority', () => {
  const arrived: string[] = [];
  const base = useLocalServer((req, res) => {
    arrived.push(req.url ?? '');
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{}');
  });

  it('sends a deferrable request after the ordinary ones that queued behind it', async () => {
    const t = transport(base(), new TokenBucket({ qps: 20, burst: 1 }));
    try {
      await t.requestJson({ method: 'GET', path: '/first' });
      const event = t.requestJson({ method: 'POST', path: '/event', body: {}, priority: 'deferrable' });
      const a = t.requestJson({ method: 'POST', path: '/a', body: {} });
      const b = t.requestJson({ method: 'POST', path: '/b', body: {} });
      await Promise.all([event, a, b]);
      expect(arrived).toEqual(['/first', '/a', '/b', '/event']);
    } finally {
      t.dispose();
    }
  });
});
