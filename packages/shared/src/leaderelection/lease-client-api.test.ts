import { describe, expect, it } from '@jest/globals';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatMicroTime, leaseClientFromApi, type LeaseApi } from './lease-client-api.js';

const wireLease = {
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name: 'l', namespace: 'ns', resourceVersion: '7', uid: 'u-1', annotations: { keep: 'me' } },
  spec: {
    holderIdentity: 'pod-a',
    leaseDurationSeconds: 15,
    leaseTransitions: 2,
    acquireTime: '2024-05-01T10:00:00.123456Z',
    renewTime: '2024-05-01T10:00:05.000001Z',
  },
};

/** A loopback stand-in for the API server's Lease endpoints. */
async function withApiServer(
  handle: (req: IncomingMessage, body: string, res: ServerResponse) => void,
  fn: (api: CoordinationV1Api) => Promise<void>,
): Promise<void> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handle(req, body, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  try {
    await fn(kc.makeApiClient(CoordinationV1Api));
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

describe('formatMicroTime', () => {
  it('writes RFC 3339 with six fractional digits', () => {
    expect(formatMicroTime(new Date(Date.UTC(2024, 4, 1, 10, 0, 0, 123)))).toBe('2024-05-01T10:00:00.123000Z');
  });
});

describe('leaseClientFromApi over the real client-node CoordinationV1Api', () => {
  it('reads MicroTime fields as Dates and writes them with microseconds, keeping metadata', async () => {
    const seen: { method: string; url: string; body: string }[] = [];
    await withApiServer(
      (req, body, res) => {
        seen.push({ method: req.method!, url: req.url!, body });
        if (req.method === 'GET') json(res, 200, wireLease);
        else json(res, 200, { ...JSON.parse(body), metadata: { ...JSON.parse(body).metadata, resourceVersion: '8' } });
      },
      async (api) => {
        const client = leaseClientFromApi(api);
        const lease = await client.get('ns', 'l');
        expect(lease.spec?.acquireTime).toEqual(new Date('2024-05-01T10:00:00.123Z'));
        expect(lease.spec?.renewTime).toBeInstanceOf(Date);
        expect(lease.metadata).toMatchObject({ name: 'l', namespace: 'ns', resourceVersion: '7', uid: 'u-1' });

        const renew = new Date(Date.UTC(2024, 4, 1, 10, 0, 10, 500));
        const updated = await client.update({ ...lease, spec: { ...lease.spec, renewTime: renew } });
        expect(updated.metadata.resourceVersion).toBe('8');
        expect(updated.spec?.renewTime).toEqual(renew);

        const put = seen[1]!;
        expect(put.method).toBe('PUT');
        expect(put.url).toBe('/apis/coordination.k8s.io/v1/namespaces/ns/leases/l');
        const sent = JSON.parse(put.body) as typeof wireLease;
        expect(sent.spec.renewTime).toBe('2024-05-01T10:00:10.500000Z');
        expect(sent.spec.acquireTime).toBe('2024-05-01T10:00:00.123000Z');
        expect(sent.metadata).toMatchObject({ resourceVersion: '7', uid: 'u-1', annotations: { keep: 'me' } });
      },
    );
  });

  it('maps API errors to statusCode with the Status message', async () => {
    await withApiServer(
      (req, _body, res) => {
        if (req.method === 'GET') json(res, 404, { kind: 'Status', code: 404, message: 'leases.coordination.k8s.io "l" not found' });
        else json(res, 409, { kind: 'Status', code: 409, message: 'the object has been modified' });
      },
      async (api) => {
        const client = leaseClientFromApi(api);
        await expect(client.get('ns', 'l')).rejects.toMatchObject({
          statusCode: 404,
          message: 'get Lease ns/l: HTTP 404: leases.coordination.k8s.io "l" not found',
        });
        await expect(client.update({ metadata: { name: 'l', namespace: 'ns', resourceVersion: '1' }, spec: {} })).rejects.toMatchObject({
          statusCode: 409,
        });
        await expect(client.create({ metadata: { name: 'l', namespace: 'ns' }, spec: {} })).rejects.toMatchObject({ statusCode: 409 });
      },
    );
  });

  it('aborts a hanging request through the signal, with no status code', async () => {
    await withApiServer(
      () => undefined, // never answers
      async (api) => {
        const client = leaseClientFromApi(api);
        const ac = new AbortController();
        const pending = client.get('ns', 'l', ac.signal);
        setTimeout(() => ac.abort(new Error('renew deadline exceeded')), 50);
        const err = await pending.then(
          () => undefined,
          (e: unknown) => e as { statusCode?: number; message: string },
        );
        expect(err).toBeDefined();
        expect(err?.statusCode).toBeUndefined();
        expect(err?.message).toMatch(/^get Lease ns\/l: /);
      },
    );
  });
});

describe('leaseClientFromApi signal middleware', () => {
  it('keeps a signal set earlier by another middleware', async () => {
    let options: unknown;
    const api = {
      readNamespacedLease: (_p: unknown, o: unknown) => {
        options = o;
        return Promise.resolve(wireLease);
      },
    } as unknown as LeaseApi;
    const ours = new AbortController();
    await leaseClientFromApi(api).get('ns', 'l', ours.signal);
    const mw = (options as { middleware: { pre(ctx: unknown): { toPromise(): Promise<unknown> } }[]; middlewareMergeStrategy: string });
    expect(mw.middlewareMergeStrategy).toBe('append');
    const earlier = new AbortController();
    let set: AbortSignal | undefined;
    const ctx = { getSignal: () => earlier.signal, setSignal: (s: AbortSignal) => (set = s) };
    expect(await mw.middleware[0]!.pre(ctx).toPromise()).toBe(ctx);
    expect(set?.aborted).toBe(false);
    earlier.abort();
    expect(set?.aborted).toBe(true);
  });

  it('maps errors that carry a code but no body (the shared kube transport throws those)', async () => {
    const conflict = Object.assign(new Error('PUT /apis/coordination.k8s.io/v1/namespaces/ns/leases/l: the object has been modified (HTTP 409 Conflict)'), {
      code: 409,
    });
    const api = { replaceNamespacedLease: () => Promise.reject(conflict) } as unknown as LeaseApi;
    await expect(leaseClientFromApi(api).update({ metadata: { name: 'l', namespace: 'ns', resourceVersion: '1' } })).rejects.toMatchObject({
      statusCode: 409,
      message: expect.stringContaining('update Lease ns/l: HTTP 409: PUT /apis/coordination.k8s.io/v1/namespaces/ns/leases/l: the object has been modified'),
    });
  });
});
