import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import { Registry } from 'prom-client';
import { FakeClock } from '../lifecycle/clock.js';
import { createKubeClient, defaultUserAgent, KubeClientFactory } from './client.js';
import type { KubeClient } from './client.js';
import { isAlreadyExists, isConflict, isNotFound, KubeApiError, KubeTransportError } from './errors.js';
import { httpListWatcher } from './list-watch.js';
import { restClientMetrics } from './metrics.js';
import { PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES } from './resources.js';
import type { RequestRecord } from './transport.js';
import { FakeApiServer } from './testing/fake-apiserver.js';

let server: FakeApiServer;
let client: KubeClient;
const records: RequestRecord[] = [];

beforeAll(async () => {
  server = await FakeApiServer.start({ token: 'secret-token' });
  client = createKubeClient({
    kubeconfig: server.writeKubeconfig(),
    qps: 1000,
    burst: 1000,
    userAgent: defaultUserAgent('csi-provisioner', 'v0.1.0'),
    onRequest: (r) => records.push(r),
  });
  // Loads client-node's typed classes now: on a busy machine that takes seconds, longer than the
  // fake server keeps an idle keep-alive connection open.
  await client.typed();
});

afterAll(async () => {
  client.dispose();
  await server.close();
});

const pvc = (name: string) => ({
  metadata: { name, namespace: 'default' },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
});

describe('KubeClient against the fake apiserver', () => {
  it('sends credentials and the User-Agent with raw requests', async () => {
    server.create(PERSISTENT_VOLUMES, { metadata: { name: 'pv-raw' }, spec: { capacity: { storage: '1Gi' } } });
    const pv = await client.request<{ metadata: { name: string } }>({ method: 'GET', path: '/api/v1/persistentvolumes/pv-raw' });
    expect(pv.metadata.name).toBe('pv-raw');
    const seen = server.requests.at(-1)!;
    expect(seen.headers.authorization).toBe('Bearer secret-token');
    expect(seen.headers['user-agent']).toMatch(/^csi-provisioner\/v0\.1\.0 \(linux\/\w+\) csi-sidecars-ts$/);
  });

  it('serves typed client-node calls through the same transport', async () => {
    const created = await (await client.typed()).core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: pvc('typed') as never });
    expect(created.metadata?.name).toBe('typed');
    // Typed models turn timestamps into Date objects.
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    const read = await (await client.typed()).core.readNamespacedPersistentVolumeClaim({ name: 'typed', namespace: 'default' });
    expect(read.spec?.resources?.requests?.storage).toBe('1Gi');
    expect(server.requests.at(-1)!.headers.authorization).toBe('Bearer secret-token');
  });

  it('turns error answers of typed calls into KubeApiError with the Status reason', async () => {
    const err = await (await client.typed()).core.readNamespacedPersistentVolumeClaim({ name: 'missing', namespace: 'default' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(isNotFound(err)).toBe(true);
    await (await client.typed()).core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: pvc('dup') as never });
    const dup = await (await client.typed()).core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: pvc('dup') as never }).catch((e: unknown) => e);
    expect(isAlreadyExists(dup)).toBe(true);
    expect(isConflict(dup)).toBe(false);
    expect((dup as KubeApiError).message).toContain('already exists');
  });

  it('sends a patch with the content type asked for', async () => {
    server.create(PERSISTENT_VOLUME_CLAIMS, pvc('patched'));
    const out = await client.request<{ metadata: { labels?: Record<string, string> } }>({
      method: 'PATCH',
      path: '/api/v1/namespaces/default/persistentvolumeclaims/patched',
      body: { metadata: { labels: { a: 'b' } } },
      contentType: 'application/merge-patch+json',
    });
    expect(out.metadata.labels).toEqual({ a: 'b' });
    expect(server.requests.at(-1)!.headers['content-type']).toBe('application/merge-patch+json');
  });

  it('reports every request to the metrics hook', async () => {
    records.length = 0;
    await client.request({ method: 'GET', path: '/api/v1/persistentvolumes' });
    await client.request({ method: 'GET', path: '/api/v1/persistentvolumes/nope' }).catch(() => undefined);
    expect(records.map((r) => [r.method, r.code])).toEqual([
      ['GET', '200'],
      ['GET', '404'],
    ]);
    expect(records[0]!.host).toBe(`127.0.0.1:${server.port}`);
  });

  it('registers client-go named metrics', async () => {
    const registry = new Registry();
    const hook = restClientMetrics(registry);
    hook({ method: 'GET', host: 'h:1', code: '200', durationMs: 12, rateLimiterWaitMs: 0, stream: false });
    // A second registration on the same registry reuses the metrics instead of throwing.
    restClientMetrics(registry)({ method: 'GET', host: 'h:1', code: '200', durationMs: 1, rateLimiterWaitMs: 0, stream: false });
    const text = await registry.metrics();
    expect(text).toContain('rest_client_requests_total{code="200",method="GET",host="h:1"} 2');
    expect(text).toContain('rest_client_request_duration_seconds_count{verb="GET",host="h:1"} 2');
  });
});

describe('KubeClient rate limit and timeouts', () => {
  it('takes a token for every request but none for watches, streaming lists included', async () => {
    const clock = new FakeClock();
    const c = KubeClientFactory.fromFlags({ kubeconfig: server.writeKubeconfig() }).create({ qps: 1, burst: 2, clock });
    const ac = new AbortController();
    try {
      await c.request({ method: 'GET', path: '/api/v1/persistentvolumes' });
      expect(c.limiter.available).toBe(1);
      const w = await c.stream({ method: 'GET', path: '/api/v1/persistentvolumes', query: { watch: 'true' }, signal: ac.signal });
      expect(w.status).toBe(200);
      // A streaming list is a WATCH too.
      await httpListWatcher(c, { resource: PERSISTENT_VOLUMES }).watch({ resourceVersion: '', sendInitialEvents: true, allowWatchBookmarks: true, timeoutSeconds: 300, signal: ac.signal });
      expect(c.limiter.available).toBe(1);
      await c.request({ method: 'GET', path: '/api/v1/persistentvolumes' });
      // Both tokens are spent by the two plain requests: the third waits for the clock.
      let done = false;
      const third = c.request({ method: 'GET', path: '/api/v1/persistentvolumes' }).then(() => (done = true));
      await new Promise((r) => setTimeout(r, 50));
      expect(done).toBe(false);
      await clock.advance(1000);
      await third;
      expect(done).toBe(true);
    } finally {
      ac.abort();
      c.dispose();
    }
  });

  it('times out a request that gets no answer, naming the request', async () => {
    const hang = http.createServer(() => undefined);
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()));
    const port = (hang.address() as { port: number }).port;
    const c = createKubeClient({ kubeconfig: server.writeKubeconfig({ server: `http://127.0.0.1:${port}`, name: 'hang' }), requestTimeoutMs: 100 });
    try {
      const err = await c.request({ method: 'GET', path: '/api/v1/nodes' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KubeTransportError);
      expect((err as KubeTransportError).timedOut).toBe(true);
      expect((err as Error).message).toContain('GET http://127.0.0.1');
      expect((err as Error).message).toContain('/api/v1/nodes');
    } finally {
      c.dispose();
      hang.closeAllConnections();
      await new Promise((r) => hang.close(r));
    }
  });

  it('reports a refused connection as a KubeTransportError', async () => {
    const c = createKubeClient({ kubeconfig: server.writeKubeconfig({ server: 'http://127.0.0.1:1', name: 'refused' }) });
    try {
      const err = await c.request({ method: 'GET', path: '/api/v1/nodes' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KubeTransportError);
      expect((err as Error).message).toMatch(/ECONNREFUSED/);
    } finally {
      c.dispose();
    }
  });

  it('aborts a request when its signal aborts', async () => {
    const ac = new AbortController();
    ac.abort(new Error('shutting down'));
    await expect(client.request({ method: 'GET', path: '/api/v1/nodes', signal: ac.signal })).rejects.toThrow('shutting down');
  });
});
