import { describe, expect, it } from '@jest/globals';
import { FakeClock, KubeApiError, discardLogger } from '@csi-sidecars-ts/shared';
import type { CreateVolumeRequest, Lease, PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import type { JournalApi } from '../adapters/journal-api.js';
import { PROVISIONING_PROTECTION_FINALIZER } from './constants.js';
import { JournalWriteError, ProvisioningJournal } from './provisioning-journal.js';

/** Leases in a Map, with a call log; `cache` plays the (possibly stale) informer. */
function world() {
  const leases = new Map<string, Lease>();
  const cache = new Map<string, Lease>();
  const calls: string[] = [];
  let rv = 0;
  let failCreate: KubeApiError | undefined;
  const api: JournalApi = {
    createLease: async (l) => {
      calls.push(`create ${l.metadata?.name}`);
      if (failCreate) throw failCreate;
      if (leases.has(l.metadata!.name!)) throw new KubeApiError(409, 'AlreadyExists', 'exists');
      const stored = { ...l, metadata: { ...l.metadata, resourceVersion: String(++rv) } };
      leases.set(l.metadata!.name!, stored);
      return stored;
    },
    getLease: async (_ns, name) => {
      calls.push(`get ${name}`);
      const l = leases.get(name);
      if (!l) throw new KubeApiError(404, 'NotFound', 'not found');
      return l;
    },
    updateLease: async (l) => {
      calls.push(`update ${l.metadata?.name}`);
      const stored = { ...l, metadata: { ...l.metadata, resourceVersion: String(++rv) } };
      leases.set(l.metadata!.name!, stored);
      return stored;
    },
    deleteLease: async (_ns, name) => {
      calls.push(`delete ${name}`);
      if (!leases.delete(name)) throw new KubeApiError(404, 'NotFound', 'not found');
    },
    probeList: async () => undefined,
  };
  let claim: PersistentVolumeClaim = { metadata: { name: 'data', namespace: 'ns', uid: 'u1', resourceVersion: '1' } };
  const claims = {
    getClaim: async () => structuredClone(claim),
    updateClaim: async (c: PersistentVolumeClaim) => {
      claim = structuredClone(c);
      return c;
    },
  };
  const journal = (protectionFinalizer = false) =>
    new ProvisioningJournal(
      { namespace: 'csi', driverName: 'drv', holder: 'pod/x', protectionFinalizer },
      { api, claims, cached: (n) => cache.get(n), clock: new FakeClock(), logger: discardLogger },
    );
  return {
    leases,
    cache,
    calls,
    api,
    journal,
    claim: () => claim,
    setFailCreate: (e: KubeApiError | undefined) => (failCreate = e),
  };
}

const request = (over: Partial<CreateVolumeRequest> = {}): CreateVolumeRequest => ({
  name: 'pvc-u1',
  capacity_range: { required_bytes: 1n },
  volume_capabilities: [],
  secrets: { key: 'secret-data' },
  ...over,
});

const theClaim: PersistentVolumeClaim = { metadata: { name: 'data', namespace: 'ns', uid: 'u1' } };

describe('ProvisioningJournal', () => {
  it('writes an entry once per content, and again after it was settled even if the cache still shows it', async () => {
    const w = world();
    const j = w.journal();
    const e = j.entryFor(theClaim, request(), 'fast', { name: 's', namespace: 'ns' });
    expect(e).toMatchObject({ driver: 'drv', pvName: 'pvc-u1', claim: { uid: 'u1' }, secretRef: { name: 's', namespace: 'ns' } });
    expect(JSON.stringify(e)).not.toContain('secret-data');
    await j.record(e);
    await j.record(e);
    expect(w.calls).toEqual(['create pvc-u1.drv']);
    w.cache.set('pvc-u1.drv', w.leases.get('pvc-u1.drv')!);
    await j.settle(e, 'PV saved');
    expect(w.leases.size).toBe(0);
    // The informer has not seen the delete yet: its copy must not count as a record.
    await j.record(e);
    expect(w.calls).toEqual(['create pvc-u1.drv', 'delete pvc-u1.drv', 'create pvc-u1.drv']);
    expect(w.leases.size).toBe(1);
  });

  it('brings an entry written by an earlier process up to date, keeping its start time', async () => {
    const w = world();
    const old = w.journal();
    const first = old.entryFor(theClaim, request(), 'fast', undefined);
    await old.record(first);
    const j = w.journal();
    const changed = j.entryFor(theClaim, request({ parameters: { tier: 'gold' } }), 'fast', undefined);
    await j.record({ ...changed, startedAt: '2030-01-01T00:00:00.000Z' });
    expect(w.calls).toEqual(['create pvc-u1.drv', 'create pvc-u1.drv', 'get pvc-u1.drv', 'update pvc-u1.drv']);
    const stored = JSON.parse(w.leases.get('pvc-u1.drv')!.metadata!.annotations!['csi-sidecars-ts.io/provisioning']!) as { startedAt: string; request: { parameters: object } };
    expect(stored.request.parameters).toEqual({ tier: 'gold' });
    expect(stored.startedAt).toBe(first.startedAt);
  });

  it('refuses to let CreateVolume go ahead when the entry cannot be written, and turns off on 403', async () => {
    const w = world();
    const j = w.journal();
    const e = j.entryFor(theClaim, request(), 'fast', undefined);
    w.setFailCreate(new KubeApiError(500, 'InternalError', 'etcd timeout'));
    await expect(j.record(e)).rejects.toThrow(JournalWriteError);
    await expect(j.record(e)).rejects.toThrow('cannot record the provisioning of pvc-u1 in the journal (Lease csi/pvc-u1.drv): etcd timeout');
    w.setFailCreate(new KubeApiError(403, 'Forbidden', 'leases is forbidden'));
    await j.record(e);
    expect(j.enabled).toBe(false);
    await j.settle(e, 'x');
    expect(w.calls.filter((c) => c.startsWith('delete'))).toEqual([]);
  });

  it('holds the claim with the protection finalizer from record to settle', async () => {
    const w = world();
    const j = w.journal(true);
    const e = j.entryFor(theClaim, request(), 'fast', undefined);
    await j.record(e);
    expect(w.claim().metadata?.finalizers).toEqual([PROVISIONING_PROTECTION_FINALIZER]);
    await j.settle(e, 'PV saved');
    expect(w.claim().metadata?.finalizers).toEqual([]);
  });
});
