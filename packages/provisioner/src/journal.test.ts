// The crash-safe provisioning journal against the fake apiserver and the fake CSI plugin: an
// entry is written before every CreateVolume (entries of concurrent provisions share a write)
// and removed once settled, and a new provisioner process (a restart, a new leader) finishes or
// cleans up whatever the previous one left.
import { afterEach, describe, expect, it } from '@jest/globals';
import { GrpcCode, LEASES, PERSISTENT_VOLUMES, PERSISTENT_VOLUME_CLAIMS, SECRETS, STORAGE_CLASSES } from '@csi-sidecars-ts/shared';
import { FakeApiServer, FakeCsiPlugin, grpcStatus } from '@csi-sidecars-ts/shared/testing';
import type { Lease, PersistentVolume, PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import { BASE_CONTROLLER_CAPS, DRIVER, claim, eventually, eventuallyAsync, startInstance, storageClass, type ProvisionerInstance } from './__fixtures__/harness.js';
import { PROVISIONING_PROTECTION_FINALIZER } from './controller/constants.js';
import { entryFromLease, entryKeys, entryText, journalEntryKey, shardLabels, shardLease, storedRequest } from './controller/journal-entry.js';
import { JOURNAL_RECOVERIES_METRIC } from './controller/journal-controller.js';
import type { ProvisionerSidecarOptions } from './sidecar.js';

const NS = 'csi';
const JOURNAL = { journalNamespace: NS, journalRemovalDelayMs: 200 };

let server: FakeApiServer | undefined;
let plugin: FakeCsiPlugin | undefined;
const instances: ProvisionerInstance[] = [];

afterEach(async () => {
  for (const i of instances.splice(0)) await i.close();
  await plugin?.dispose();
  await server?.close();
  plugin = undefined;
  server = undefined;
});

async function setup(): Promise<{ server: FakeApiServer; plugin: FakeCsiPlugin }> {
  server = await FakeApiServer.start();
  plugin = await FakeCsiPlugin.start({ driverName: DRIVER, controllerCapabilities: BASE_CONTROLLER_CAPS });
  server.create(STORAGE_CLASSES, storageClass('fast'));
  return { server, plugin };
}

async function start(options: Partial<ProvisionerSidecarOptions> = {}): Promise<ProvisionerInstance> {
  const i = await startInstance(server!, plugin!, { options: { ...JOURNAL, ...options } });
  instances.push(i);
  return i;
}

async function stop(i: ProvisionerInstance): Promise<void> {
  instances.splice(instances.indexOf(i), 1);
  await i.close();
}

const leases = () => server!.list<Lease>(LEASES, NS);
/** Journal entries stored, over all shard Leases. */
const entries = () => leases().flatMap((l) => entryKeys(l));
const pvs = () => server!.list<PersistentVolume>(PERSISTENT_VOLUMES);
const uidOf = (name: string) => server!.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, name, 'ns')!.metadata!.uid!;

/** The driver creates the volume, but the sidecar is told the call timed out (a lost answer). */
function lostAnswers(p: FakeCsiPlugin): void {
  p.setHandler('CreateVolume', (req) => {
    p.store.createVolume(req);
    throw grpcStatus(GrpcCode.DeadlineExceeded, 'context deadline exceeded');
  });
}

describe('provisioning journal', () => {
  it('records a volume before CreateVolume, without secret data, and removes the record once the PV is saved', async () => {
    const { server: s, plugin: p } = await setup();
    s.create(SECRETS, { metadata: { name: 'creds', namespace: 'ns' }, data: { password: Buffer.from('hunter2').toString('base64') } });
    s.create(
      STORAGE_CLASSES,
      storageClass('secret', { parameters: { 'csi.storage.k8s.io/provisioner-secret-name': 'creds', 'csi.storage.k8s.io/provisioner-secret-namespace': 'ns' } }),
    );
    const seen: Lease[][] = [];
    p.setHandler('CreateVolume', (req) => {
      seen.push(structuredClone(leases()));
      return p.store.createVolume(req);
    });
    const i = await start();
    expect(i.sidecar.journal?.enabled).toBe(true);
    s.create(PERSISTENT_VOLUME_CLAIMS, claim('data', 'secret'));
    const uid = uidOf('data');
    await eventually(() => pvs().length === 1, 'PV saved');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toHaveLength(1);
    expect(entryKeys(seen[0]![0]!)).toEqual([journalEntryKey(uid, `pvc-${uid}`)]);
    const entry = entryFromLease(seen[0]![0]!, journalEntryKey(uid, `pvc-${uid}`));
    expect(entry).toMatchObject({ driver: DRIVER, pvName: `pvc-${uid}`, claim: { namespace: 'ns', name: 'data', uid }, storageClass: 'secret', secretRef: { namespace: 'ns', name: 'creds' } });
    expect(entry.request.name).toBe(`pvc-${uid}`);
    expect(p.callsTo('CreateVolume')[0]!.request.secrets).toEqual({ password: 'hunter2' });
    expect(JSON.stringify(seen[0])).not.toContain('hunter2');
    await eventually(() => entries().length === 0, 'entry settled');
  });

  it('records a burst of claims in a few shared Lease writes, each entry durable before its CreateVolume', async () => {
    const { server: s, plugin: p } = await setup();
    const N = 20;
    for (let n = 0; n < N; n++) s.create(PERSISTENT_VOLUME_CLAIMS, claim(`data-${n}`, 'fast'));
    const missing: string[] = [];
    p.setHandler('CreateVolume', (req) => {
      const uid = (req.name ?? '').replace(/^pvc-/, '');
      if (!entries().includes(journalEntryKey(uid, req.name ?? ''))) missing.push(req.name ?? '');
      return p.store.createVolume(req);
    });
    const before = s.requests.length;
    // As many workers as claims (the Go default is 100): all of them provision at once.
    await start({ workerThreads: N });
    await eventually(() => pvs().length === N, 'all PVs saved');
    await eventually(() => entries().length === 0, 'all entries settled');
    expect(missing).toEqual([]);
    const writes = s.requests.slice(before).filter((r) => r.path.includes('/leases') && r.method !== 'GET');
    // Two per volume before group commit; now the adds share a write, removals likewise.
    expect(writes.length).toBeLessThanOrEqual(4);
    expect(leases().map((l) => l.metadata?.name)).toEqual([`csi-journal-0.${DRIVER}`]);
  });

  it('after a crash, replays entries that shared a write: finishes the wanted volumes, deletes the orphan', async () => {
    const { server: s, plugin: p } = await setup();
    lostAnswers(p);
    const first = await start();
    for (const n of [1, 2, 3]) s.create(PERSISTENT_VOLUME_CLAIMS, claim(`data-${n}`, 'fast'));
    await p.waitForCalls('CreateVolume', 3);
    await eventually(() => entries().length === 3, 'entries written');
    await stop(first);
    p.resetHandler('CreateVolume');
    expect(p.store.all()).toHaveLength(3);
    const orphan = p.store.all().find((v) => v.name === `pvc-${uidOf('data-2')}`)!.volumeId;
    s.remove(PERSISTENT_VOLUME_CLAIMS, 'data-2', 'ns');

    await start();
    await eventually(() => pvs().length === 2 && p.store.all().length === 2, 'two PVs saved, the orphan deleted');
    expect(p.callsTo('DeleteVolume').map((c) => c.request.volume_id)).toEqual([orphan]);
    expect(pvs().map((pv) => pv.spec?.csi?.volumeHandle).sort()).toEqual(p.store.all().map((v) => v.volumeId).sort());
    await eventually(() => entries().length === 0, 'entries settled');
  });

  it('finishes the PV after a restart when the claim still wants it (same volume, no second one)', async () => {
    const { server: s, plugin: p } = await setup();
    lostAnswers(p);
    const first = await start();
    s.create(PERSISTENT_VOLUME_CLAIMS, claim('data', 'fast'));
    await p.waitForCalls('CreateVolume', 1);
    await eventually(() => entries().length === 1, 'entry written');
    await stop(first);
    p.resetHandler('CreateVolume');
    expect(p.store.all()).toHaveLength(1);

    await start();
    await eventually(() => pvs().length === 1, 'PV saved by the new process');
    expect(pvs()[0]!.spec?.csi?.volumeHandle).toBe(p.store.all()[0]!.volumeId);
    expect(p.store.all()).toHaveLength(1);
    await eventually(() => entries().length === 0, 'entry settled');
  });

  it('deletes the volume after a restart when the claim was deleted meanwhile (external-provisioner #486)', async () => {
    const { server: s, plugin: p } = await setup();
    lostAnswers(p);
    const first = await start();
    s.create(PERSISTENT_VOLUME_CLAIMS, claim('data', 'fast'));
    await p.waitForCalls('CreateVolume', 1);
    await eventually(() => entries().length === 1, 'entry written');
    await stop(first);
    p.resetHandler('CreateVolume');
    s.remove(PERSISTENT_VOLUME_CLAIMS, 'data', 'ns');
    const leaked = p.store.all()[0]!.volumeId;

    const second = await start();
    await eventually(() => p.store.all().length === 0, 'orphaned volume deleted');
    expect(p.callsTo('DeleteVolume').map((c) => c.request.volume_id)).toEqual([leaked]);
    expect(pvs()).toHaveLength(0);
    await eventually(() => entries().length === 0, 'entry settled');
    await eventuallyAsync(async () => (await second.registry.metrics()).includes(`${JOURNAL_RECOVERIES_METRIC}{outcome="orphan-deleted"} 1`), 'recovery metric');
  });

  it('settles the entry when the driver refuses for good, and keeps it while the outcome is unknown', async () => {
    const { server: s, plugin: p } = await setup();
    p.fail('CreateVolume', GrpcCode.Unavailable, 'busy', 1);
    p.fail('CreateVolume', GrpcCode.InvalidArgument, 'bad parameters');
    // Removals are written lazily: sooner than the claim's retries (every 100 ms here) come.
    await start({ journalRemovalDelayMs: 20 });
    s.create(PERSISTENT_VOLUME_CLAIMS, claim('data', 'fast'));
    await p.waitForCalls('CreateVolume', 2);
    await eventually(() => entries().length === 0, 'entry settled after the final error');
    expect(p.store.all()).toHaveLength(0);
  });

  it('does not call CreateVolume until the entry is written', async () => {
    const { server: s, plugin: p } = await setup();
    s.failNext({ method: 'POST', path: /\/leases$/ }, { code: 500, message: 'etcd is having a moment' }, 2);
    const i = await start();
    s.create(PERSISTENT_VOLUME_CLAIMS, claim('data', 'fast'));
    await eventually(() => pvs().length === 1, 'PV saved');
    expect(p.callsTo('CreateVolume')).toHaveLength(1);
    const failures = i.recorder.for('data').filter((e) => e.reason === 'ProvisioningFailed');
    expect(failures.length).toBeGreaterThanOrEqual(2);
    expect(failures[0]!.message).toMatch(/^cannot record the provisioning of pvc-[-0-9a-f]+ in the journal \(Lease csi\/csi-journal-0\.fake\.csi\.example\.com\): /);
  });

  it('keeps a volume its PV describes and deletes a stray one of the same name (#1469 crash window)', async () => {
    const { server: s, plugin: p } = await setup();
    const base = { capacity_range: { required_bytes: 1024n }, volume_capabilities: [{ mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' as const } }] };
    const entryOf = (name: string, uid: string) =>
      [
        journalEntryKey(uid, name),
        entryText({ version: 1, driver: DRIVER, pvName: name, claim: { namespace: 'ns', name: name, uid }, storageClass: 'fast', request: storedRequest({ name, ...base }), startedAt: new Date().toISOString() }),
      ] as const;
    const pvOf = (name: string, uid: string, handle: string): PersistentVolume => ({
      metadata: { name },
      spec: { capacity: { storage: '1Ki' }, accessModes: ['ReadWriteOnce'], claimRef: { namespace: 'ns', name, uid }, csi: { driver: DRIVER, volumeHandle: handle } },
      status: { phase: 'Bound' },
    });
    // Saved, but the process died before settling: the PV describes the volume.
    const kept = p.store.seed({ name: 'pvc-kept', capacityBytes: 1024n }).volumeId;
    s.create(PERSISTENT_VOLUMES, pvOf('pvc-kept', 'uid-kept', kept));
    // A stale CreateVolume re-created a name whose PV describes an older, deleted volume.
    const stray = p.store.seed({ name: 'pvc-stale', capacityBytes: 1024n }).volumeId;
    s.create(PERSISTENT_VOLUMES, pvOf('pvc-stale', 'uid-stale', 'deleted-long-ago'));
    // Both entries were written by one group commit: one shard Lease holds them.
    s.create(LEASES, shardLease(`csi-journal-0.${DRIVER}`, NS, shardLabels(DRIVER), 'old-leader', new Map([entryOf('pvc-kept', 'uid-kept'), entryOf('pvc-stale', 'uid-stale')])));

    await start();
    await eventually(() => entries().length === 0, 'both entries settled');
    expect(p.store.all().map((v) => v.volumeId)).toEqual([kept]);
    expect(p.callsTo('DeleteVolume').map((c) => c.request.volume_id)).toEqual([stray]);
    expect(pvs().map((v) => v.metadata?.name).sort()).toEqual(['pvc-kept', 'pvc-stale']);
  });

  it('removes a leftover entry before deleting the PV: one CreateVolume and one DeleteVolume for the claim in all', async () => {
    const { server: s, plugin: p } = await setup();
    // A removal delay no test reaches: only a write of its own can remove the entry.
    const first = await start({ journalRemovalDelayMs: 60_000 });
    s.create(PERSISTENT_VOLUME_CLAIMS, claim('data', 'fast'));
    const uid = uidOf('data');
    await eventually(() => pvs().length === 1, 'PV saved');
    expect(entries()).toEqual([journalEntryKey(uid, `pvc-${uid}`)]);
    // The process dies before the lazy removal is written (stands for SIGKILL: nothing more reaches the Lease).
    first.sidecar.journal!.disable('simulated crash');
    await stop(first);
    expect(entries()).toHaveLength(1);
    // Meanwhile the claim is deleted and kube-controller-manager releases its PV.
    s.remove(PERSISTENT_VOLUME_CLAIMS, 'data', 'ns');
    s.update(PERSISTENT_VOLUMES, { ...pvs()[0]!, status: { phase: 'Released' } });

    const second = await start({ journalRemovalDelayMs: 60_000 });
    let entriesWhenPvDeleted: number | undefined;
    await eventually(() => {
      const pv = pvs()[0];
      if (entriesWhenPvDeleted === undefined && (!pv || pv.metadata?.deletionTimestamp)) entriesWhenPvDeleted = entries().length;
      return pvs().length === 0;
    }, 'PV deleted');
    expect(p.callsTo('CreateVolume')).toHaveLength(1);
    expect(p.callsTo('DeleteVolume')).toHaveLength(1);
    expect(p.store.all()).toHaveLength(0);
    expect(entries()).toHaveLength(0);
    // The entry went before the PV did (not with the PV's last sync or a later timer).
    expect(entriesWhenPvDeleted).toBe(0);
    expect(second.sidecar.journal?.enabled).toBe(true);
  });

  it('writes the removals a replay settles with its next batch, not after the removal delay', async () => {
    const { server: s, plugin: p } = await setup();
    const first = await start({ journalRemovalDelayMs: 60_000 });
    for (const n of [1, 2, 3]) s.create(PERSISTENT_VOLUME_CLAIMS, claim(`data-${n}`, 'fast'));
    await eventually(() => pvs().length === 3, 'PVs saved');
    expect(entries()).toHaveLength(3);
    first.sidecar.journal!.disable('simulated crash');
    await stop(first);

    const before = s.requests.length;
    await start({ journalRemovalDelayMs: 60_000 });
    await eventually(() => entries().length === 0, 'removals written by the replay');
    // One idempotent CreateVolume each to learn the volume; nothing deleted.
    expect(p.callsTo('CreateVolume')).toHaveLength(6);
    expect(p.callsTo('DeleteVolume')).toHaveLength(0);
    expect(p.store.all()).toHaveLength(3);
    const writes = s.requests.slice(before).filter((r) => r.path.includes('/leases') && r.method !== 'GET');
    expect(writes.length).toBeGreaterThanOrEqual(1);
    expect(writes.length).toBeLessThanOrEqual(3);
  });

  it('deletes PVs whose entries are long gone without any journal write', async () => {
    const { server: s, plugin: p } = await setup();
    await start({ journalRemovalDelayMs: 20 });
    s.create(PERSISTENT_VOLUME_CLAIMS, claim('data', 'fast'));
    await eventually(() => pvs().length === 1, 'PV saved');
    await eventually(() => entries().length === 0, 'removal written');
    // And one provisioned before the journal existed.
    const old = p.store.seed({ name: 'pvc-old', capacityBytes: 1024n }).volumeId;
    s.create(PERSISTENT_VOLUMES, {
      metadata: { name: 'pvc-old', finalizers: ['external-provisioner.volume.kubernetes.io/finalizer'], annotations: { 'pv.kubernetes.io/provisioned-by': DRIVER } },
      spec: { capacity: { storage: '1Ki' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Delete', storageClassName: 'fast', claimRef: { namespace: 'ns', name: 'old', uid: 'uid-old' }, csi: { driver: DRIVER, volumeHandle: old } },
      status: { phase: 'Bound' },
    } satisfies PersistentVolume);
    const before = s.requests.length;
    s.remove(PERSISTENT_VOLUME_CLAIMS, 'data', 'ns');
    for (const pv of pvs()) s.update(PERSISTENT_VOLUMES, { ...pv, status: { phase: 'Released' } });
    await eventually(() => pvs().length === 0, 'PVs deleted');
    expect(p.store.all()).toHaveLength(0);
    expect(p.callsTo('DeleteVolume')).toHaveLength(2);
    expect(s.requests.slice(before).filter((r) => r.path.includes('/leases') && r.method !== 'GET')).toEqual([]);
  });

  it('with --provisioning-protection-finalizer, holds a deleted claim until its volume is cleaned up', async () => {
    const { server: s, plugin: p } = await setup();
    lostAnswers(p);
    const first = await start({ provisioningProtectionFinalizer: true });
    s.create(PERSISTENT_VOLUME_CLAIMS, claim('data', 'fast'));
    await p.waitForCalls('CreateVolume', 1);
    await eventually(() => (s.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, 'data', 'ns')?.metadata?.finalizers ?? []).includes(PROVISIONING_PROTECTION_FINALIZER), 'finalizer added');
    await stop(first);
    p.resetHandler('CreateVolume');
    s.remove(PERSISTENT_VOLUME_CLAIMS, 'data', 'ns');
    expect(s.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, 'data', 'ns')?.metadata?.deletionTimestamp).toBeTruthy();

    await start({ provisioningProtectionFinalizer: true });
    await eventually(() => s.get(PERSISTENT_VOLUME_CLAIMS, 'data', 'ns') === undefined, 'claim released after cleanup');
    expect(p.store.all()).toHaveLength(0);
    await eventually(() => entries().length === 0, 'entry removal written');
  });

  it('removes the finalizer once the PV is saved', async () => {
    const { server: s } = await setup();
    await start({ provisioningProtectionFinalizer: true });
    s.create(PERSISTENT_VOLUME_CLAIMS, claim('data', 'fast'));
    await eventually(() => pvs().length === 1, 'PV saved');
    await eventually(() => !(s.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, 'data', 'ns')?.metadata?.finalizers ?? []).includes(PROVISIONING_PROTECTION_FINALIZER), 'finalizer removed');
    await eventually(() => entries().length === 0, 'entry removal written');
  });

  it('turns itself off, loudly, without permission to list Leases, and provisions as Go does', async () => {
    const { server: s } = await setup();
    s.failNext({ method: 'GET', path: /\/leases$/ }, { code: 403, reason: 'Forbidden', message: 'leases is forbidden' });
    const i = await start();
    expect(i.sidecar.journal).toBeUndefined();
    s.create(PERSISTENT_VOLUME_CLAIMS, claim('data', 'fast'));
    await eventually(() => pvs().length === 1, 'PV saved');
    expect(entries()).toHaveLength(0);
  });

  it('is off with --provisioning-journal=false', async () => {
    const { server: s } = await setup();
    const i = await start({ provisioningJournal: false });
    expect(i.sidecar.journal).toBeUndefined();
    s.create(PERSISTENT_VOLUME_CLAIMS, claim('data', 'fast'));
    await eventually(() => pvs().length === 1, 'PV saved');
    expect(s.requests.some((r) => r.path.includes('/leases'))).toBe(false);
  });
});
