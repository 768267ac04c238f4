import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createKubeClient, type KubeClient } from '../kube/client.js';
import { LEASES } from '../kube/resources.js';
import { FakeApiServer } from '../kube/testing/fake-apiserver.js';
import { isLeaseConflict, isLeaseNotFound, type LeaseObject } from './lease.js';
import { leaseClientFromKube } from './lease-client-kube.js';

let server: FakeApiServer;
let kube: KubeClient;

beforeAll(async () => {
  server = await FakeApiServer.start();
  kube = createKubeClient({ kubeconfig: server.writeKubeconfig(), qps: -1 });
});

afterAll(async () => {
  kube.dispose();
  await server.close();
});

describe('leaseClientFromKube (raw requests, no client-node)', () => {
  it('creates, reads and replaces a Lease, with MicroTime fields as Dates and metadata kept', async () => {
    const client = leaseClientFromKube(kube);
    const acquire = new Date(Date.UTC(2024, 4, 1, 10, 0, 0, 123));
    const lease: LeaseObject = {
      metadata: { name: 'le', namespace: 'ns', annotations: { keep: 'me' } },
      spec: { holderIdentity: 'pod-a', leaseDurationSeconds: 15, acquireTime: acquire, renewTime: acquire, leaseTransitions: 0 },
    };
    const created = await client.create(lease);
    expect(created.spec?.acquireTime).toEqual(acquire);
    const stored = server.list(LEASES).find((l) => l.metadata?.name === 'le') as unknown as { spec: { renewTime: string } };
    expect(stored.spec.renewTime).toBe('2024-05-01T10:00:00.123000Z');

    const got = await client.get('ns', 'le');
    expect(got.spec?.holderIdentity).toBe('pod-a');
    expect(got.metadata.annotations).toEqual({ keep: 'me' });
    const renewed = await client.update({ ...got, spec: { ...got.spec, renewTime: new Date(acquire.getTime() + 2000) } });
    expect(renewed.spec?.renewTime).toEqual(new Date(acquire.getTime() + 2000));
    expect(renewed.metadata.annotations).toEqual({ keep: 'me' });

    // A stale resourceVersion is a conflict, a missing Lease is not-found: what leader election branches on.
    const stale = await client.update(got).catch((e: unknown) => e);
    expect(isLeaseConflict(stale)).toBe(true);
    expect(isLeaseNotFound(await client.get('ns', 'nope').catch((e: unknown) => e))).toBe(true);
  });
});
