import { afterEach, describe, expect, it } from '@jest/globals';
import {
  GrpcCode,
  PERSISTENT_VOLUMES,
  PERSISTENT_VOLUME_CLAIMS,
  SECRETS,
  STORAGE_CLASSES,
  CSI_NODES,
  NODES,
} from '@csi-sidecars-ts/shared';
import { grpcStatus } from '@csi-sidecars-ts/shared/testing';
import type { PersistentVolume, PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import { DRIVER, TOPOLOGY_PLUGIN_CAPS, claim, eventually, eventuallyAsync, startHarness, storageClass, type Harness } from './__fixtures__/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const pvs = (hh: Harness) => hh.server.list<PersistentVolume>(PERSISTENT_VOLUMES);
const uidOf = (hh: Harness, name: string, ns = 'ns') => hh.server.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, name, ns)!.metadata!.uid!;

describe('provisioning', () => {
  it('creates the volume and a PV that matches the claim', async () => {
    h = await startHarness();
    const hh = h;
    hh.server.create(STORAGE_CLASSES, storageClass('fast', { parameters: { type: 'ssd', 'csi.storage.k8s.io/fstype': 'xfs' }, mountOptions: ['noatime'] }));
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('data', 'fast', { spec: { accessModes: ['ReadWriteOnce', 'ReadOnlyMany'] } }));
    const uid = uidOf(hh, 'data');
    await eventually(() => pvs(hh).length === 1, 'PV created');
    const pv = pvs(hh)[0]!;
    expect(pv.metadata?.name).toBe(`pvc-${uid}`);
    expect(pv.metadata?.finalizers).toEqual(['external-provisioner.volume.kubernetes.io/finalizer']);
    expect(pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by']).toBe(DRIVER);
    expect(pv.spec).toMatchObject({
      accessModes: ['ReadWriteOnce', 'ReadOnlyMany'],
      capacity: { storage: '1Gi' },
      storageClassName: 'fast',
      persistentVolumeReclaimPolicy: 'Delete',
      mountOptions: ['noatime'],
      claimRef: { kind: 'PersistentVolumeClaim', namespace: 'ns', name: 'data', uid },
      csi: { driver: DRIVER, fsType: 'xfs', volumeAttributes: { 'storage.kubernetes.io/csiProvisionerIdentity': hh.sidecar.identity } },
    });
    const [call] = hh.plugin.callsTo('CreateVolume');
    expect(call!.request.name).toBe(`pvc-${uid}`);
    expect(call!.request.capacity_range?.required_bytes).toBe(1024n ** 3n);
    expect(call!.request.parameters).toEqual({ type: 'ssd' });
    expect(call!.request.volume_capabilities.map((c) => c.access_mode?.mode)).toEqual(['SINGLE_NODE_WRITER', 'MULTI_NODE_READER_ONLY']);
    expect(call!.request.volume_capabilities[0]!.mount).toEqual({ fs_type: 'xfs', mount_flags: ['noatime'], volume_mount_group: '' });
    expect(pv.spec?.csi?.volumeHandle).toBe(hh.plugin.store.byName(`pvc-${uid}`)!.volumeId);
    await eventually(() => hh.recorder.reasons('data').includes('ProvisioningSucceeded'), 'success event');
    expect(hh.recorder.for('data', 'ns')[0]).toMatchObject({ type: 'Normal', reason: 'Provisioning', message: 'External provisioner is provisioning volume for claim "ns/data"' });
    await eventuallyAsync(async () => /controller_persistentvolumeclaim_provision_total\{class="fast",source=""\} 1/.test(await hh.registry.metrics()), 'provision metric');
  });

  it('reports an unknown reserved parameter and keeps serving other claims', async () => {
    h = await startHarness();
    const hh = h;
    hh.server.create(STORAGE_CLASSES, storageClass('bad', { parameters: { 'csi.storage.k8s.io/typo': 'x' } }));
    hh.server.create(STORAGE_CLASSES, storageClass('good'));
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('broken', 'bad'));
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('fine', 'good'));
    await eventually(() => hh.recorder.reasons('broken').includes('ProvisioningFailed'), 'failure event');
    expect(hh.recorder.for('broken').find((e) => e.reason === 'ProvisioningFailed')?.message).toBe(
      'failed to strip CSI Parameters of prefixed keys: found unknown parameter key "csi.storage.k8s.io/typo" with reserved namespace csi.storage.k8s.io/',
    );
    await eventually(() => pvs(hh).length === 1, 'the good claim got its PV');
    expect(pvs(hh)[0]!.spec?.claimRef?.name).toBe('fine');
    expect(hh.plugin.callsTo('CreateVolume')).toHaveLength(1);
    // An absurd size is capped at the int64 maximum like apimachinery does; the driver's refusal is reported.
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('absurd', 'good', { spec: { resources: { requests: { storage: '100000Ei' } } } }));
    await eventually(() => hh.recorder.reasons('absurd').includes('ProvisioningFailed'), 'size refused');
    expect(hh.plugin.callsTo('CreateVolume')[1]!.request.capacity_range?.required_bytes).toBe(2n ** 63n - 1n);
    expect(hh.recorder.for('absurd').find((e) => e.reason === 'ProvisioningFailed')!.message).toMatch(/^rpc error: code = ResourceExhausted/);
  });

  it('retries while the provisioner secret is missing and sends it once it exists', async () => {
    h = await startHarness();
    const hh = h;
    hh.server.create(
      STORAGE_CLASSES,
      storageClass('secret', {
        parameters: { 'csi.storage.k8s.io/provisioner-secret-name': '${pvc.name}-creds', 'csi.storage.k8s.io/provisioner-secret-namespace': '${pvc.namespace}' },
      }),
    );
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('db', 'secret'));
    await eventually(() => hh.recorder.for('db').filter((e) => e.reason === 'ProvisioningFailed').length >= 2, 'repeated failure events');
    expect(hh.recorder.for('db').find((e) => e.reason === 'ProvisioningFailed')!.message).toMatch(/^error getting secret db-creds in namespace ns: /);
    expect(hh.plugin.callsTo('CreateVolume')).toHaveLength(0);
    hh.server.create(SECRETS, { metadata: { name: 'db-creds', namespace: 'ns' }, data: { user: Buffer.from('admin').toString('base64') } });
    await eventually(() => pvs(hh).length === 1, 'PV created after the secret appeared');
    expect(hh.plugin.callsTo('CreateVolume')[0]!.request.secrets).toEqual({ user: 'admin' });
    expect(pvs(hh)[0]!.metadata?.annotations).toMatchObject({
      'volume.kubernetes.io/provisioner-deletion-secret-name': 'db-creds',
      'volume.kubernetes.io/provisioner-deletion-secret-namespace': 'ns',
    });
  });

  it('leaves claims of other provisioners, bound claims and unscheduled WaitForFirstConsumer claims alone', async () => {
    h = await startHarness();
    const hh = h;
    hh.server.create(STORAGE_CLASSES, storageClass('late', { volumeBindingMode: 'WaitForFirstConsumer' }));
    hh.server.create(STORAGE_CLASSES, storageClass('fast'));
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('other', 'fast', { annotations: { 'volume.kubernetes.io/storage-provisioner': 'someone.else' } }));
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('bound', 'fast', { spec: { volumeName: 'pv-x' } }));
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('waiting', 'late'));
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('marker', 'fast'));
    await eventually(() => pvs(hh).length === 1, 'marker provisioned');
    expect(pvs(hh)[0]!.spec?.claimRef?.name).toBe('marker');
    expect(hh.recorder.reasons('other')).toEqual([]);
    expect(hh.recorder.reasons('waiting')).toEqual([]);
  });

  it('slows down retries after an infeasible (InvalidArgument) answer', async () => {
    h = await startHarness({ options: { retryIntervalMaxMs: 60_000 } });
    const hh = h;
    hh.plugin.fail('CreateVolume', GrpcCode.InvalidArgument, 'bad parameters');
    hh.server.create(STORAGE_CLASSES, storageClass('fast'));
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('c', 'fast'));
    await eventually(() => hh.recorder.reasons('c').includes('ProvisioningFailed'), 'failure');
    expect(hh.recorder.for('c').find((e) => e.reason === 'ProvisioningFailed')!.message).toBe(
      'Volume provisioning failed with infeasible error. Retries will be delayed. rpc error: code = InvalidArgument desc = bad parameters',
    );
    // A claim update would normally retry at once; the slow set holds it back.
    const pvc = hh.server.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, 'c', 'ns')!;
    hh.server.update(PERSISTENT_VOLUME_CLAIMS, { ...pvc, metadata: { ...pvc.metadata, labels: { poke: '1' } } });
    await new Promise((r) => setTimeout(r, 200));
    expect(hh.plugin.callsTo('CreateVolume')).toHaveLength(1);
  });
});

describe('topology and rescheduling', () => {
  const topoPlugin = { pluginCapabilities: TOPOLOGY_PLUGIN_CAPS };
  // Created before start: the caches are synced with them before any claim is processed.
  function nodes(server: Harness['server']) {
    for (const [n, zone] of [['node-1', 'a'], ['node-2', 'b']] as const) {
      server.create(NODES, { metadata: { name: n, labels: { 'topology.example.com/zone': zone } } });
      server.create(CSI_NODES, { metadata: { name: n }, spec: { drivers: [{ name: DRIVER, nodeID: n, topologyKeys: ['topology.example.com/zone'] }] } });
    }
  }

  it('provisions a WaitForFirstConsumer claim in the selected node topology', async () => {
    h = await startHarness({ plugin: topoPlugin, beforeStart: nodes });
    const hh = h;
    hh.server.create(STORAGE_CLASSES, storageClass('late', { volumeBindingMode: 'WaitForFirstConsumer' }));
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('web', 'late', { annotations: { 'volume.kubernetes.io/selected-node': 'node-2' } }));
    await eventually(() => pvs(hh).length === 1, 'PV created');
    const req = hh.plugin.callsTo('CreateVolume')[0]!.request;
    expect(req.accessibility_requirements?.preferred?.[0]?.segments).toEqual({ 'topology.example.com/zone': 'b' });
    expect(req.accessibility_requirements?.requisite?.map((t) => t.segments)).toEqual([{ 'topology.example.com/zone': 'a' }, { 'topology.example.com/zone': 'b' }]);
    expect(pvs(hh)[0]!.spec?.nodeAffinity).toEqual({
      required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.example.com/zone', operator: 'In', values: ['b'] }] }] },
    });
  });

  it('sees Nodes added after earlier claims in the cluster topology (the cached aggregate is invalidated)', async () => {
    h = await startHarness({ plugin: topoPlugin, beforeStart: nodes });
    const hh = h;
    const zonesOf = (i: number) => hh.plugin.callsTo('CreateVolume')[i]!.request.accessibility_requirements?.requisite?.map((t) => t.segments['topology.example.com/zone']);
    hh.server.create(STORAGE_CLASSES, storageClass('late', { volumeBindingMode: 'WaitForFirstConsumer' }));
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('first', 'late', { annotations: { 'volume.kubernetes.io/selected-node': 'node-1' } }));
    await eventually(() => pvs(hh).length === 1, 'first PV');
    expect(zonesOf(0)).toEqual(['a', 'b']);
    hh.server.create(NODES, { metadata: { name: 'node-3', labels: { 'topology.example.com/zone': 'c' } } });
    hh.server.create(CSI_NODES, { metadata: { name: 'node-3' }, spec: { drivers: [{ name: DRIVER, nodeID: 'node-3', topologyKeys: ['topology.example.com/zone'] }] } });
    // Selecting node-3 needs its Node and CSINode in the caches (until then the claim is retried).
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('second', 'late', { annotations: { 'volume.kubernetes.io/selected-node': 'node-3' } }));
    await eventually(() => pvs(hh).length === 2, 'second PV');
    const calls = hh.plugin.callsTo('CreateVolume');
    const last = calls[calls.length - 1]!.request.accessibility_requirements;
    expect(last?.requisite?.map((t) => t.segments['topology.example.com/zone'])).toEqual(['a', 'b', 'c']);
    expect(last?.preferred?.[0]?.segments).toEqual({ 'topology.example.com/zone': 'c' });
  });

  it('gives the node back to the scheduler on ResourceExhausted and when the node is gone', async () => {
    h = await startHarness({ plugin: topoPlugin, beforeStart: nodes });
    const hh = h;
    hh.server.create(STORAGE_CLASSES, storageClass('late', { volumeBindingMode: 'WaitForFirstConsumer' }));
    hh.plugin.fail('CreateVolume', GrpcCode.ResourceExhausted, 'node full', 1);
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('full', 'late', { annotations: { 'volume.kubernetes.io/selected-node': 'node-1' } }));
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('lost', 'late', { annotations: { 'volume.kubernetes.io/selected-node': 'node-9' } }));
    const selected = (n: string) => hh.server.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, n, 'ns')?.metadata?.annotations?.['volume.kubernetes.io/selected-node'];
    await eventually(() => selected('full') === undefined && selected('lost') === undefined, 'selected-node removed');
    expect(hh.recorder.for('lost').find((e) => e.reason === 'ProvisioningFailed')?.message).toMatch(/node-9/);
    expect(pvs(hh)).toHaveLength(0);
  });
});

describe('leaks', () => {
  it('keeps retrying a timed-out CreateVolume after the claim is deleted, and saves the late volume', async () => {
    h = await startHarness({ options: { timeoutMs: 150 } });
    const hh = h;
    const hang = hh.plugin.hang('CreateVolume');
    hh.server.create(STORAGE_CLASSES, storageClass('fast'));
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('gone', 'fast'));
    const uid = uidOf(hh, 'gone');
    await eventually(() => hh.recorder.reasons('gone').includes('ProvisioningFailed'), 'timeout reported');
    expect(hh.sidecar.claimController.inProgress.has(uid)).toBe(true);
    hh.server.remove(PERSISTENT_VOLUME_CLAIMS, 'gone', 'ns');
    hang.release();
    await eventually(() => pvs(hh).length === 1, 'PV saved for the deleted claim');
    expect(pvs(hh)[0]!.spec?.claimRef?.uid).toBe(uid);
    await eventually(() => hh.sidecar.claimController.inProgress.size === 0, 'in-progress entry dropped');
  });

  it('deletes the new volume instead of leaking it when a different PV holds its name', async () => {
    h = await startHarness();
    const hh = h;
    hh.server.create(STORAGE_CLASSES, storageClass('fast'));
    // A PV with the name, invisible to the cache check (it is created after the claim is queued).
    hh.plugin.setHandler('CreateVolume', (req, ctx) => {
      if (!hh.server.get(PERSISTENT_VOLUMES, req.name)) {
        hh.server.create(PERSISTENT_VOLUMES, {
          metadata: { name: req.name },
          spec: { csi: { driver: DRIVER, volumeHandle: 'old-volume' }, claimRef: { uid: 'someone-else' }, persistentVolumeReclaimPolicy: 'Retain' },
        });
      }
      return ctx.plugin.store.createVolume(req);
    });
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('dup', 'fast'));
    await eventually(() => hh.plugin.callsTo('DeleteVolume').length === 1, 'stray volume deleted');
    expect(hh.plugin.store.size).toBe(0);
    expect(pvs(hh)[0]!.spec?.csi?.volumeHandle).toBe('old-volume');
    await eventually(() => hh.recorder.for('dup').some((e) => e.type === 'Warning' && /deleted the newly created volume/.test(e.message)), 'warning event');
  });

  it('keeps a failed PV save in the background until it succeeds', async () => {
    h = await startHarness();
    const hh = h;
    hh.server.create(STORAGE_CLASSES, storageClass('fast'));
    hh.server.failNext({ method: 'POST', path: '/persistentvolumes' }, { code: 500, reason: 'InternalError', message: 'etcd hiccup' }, 3);
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('later', 'fast'));
    await eventually(() => pvs(hh).length === 1, 'PV saved eventually', 8000);
    expect(hh.plugin.callsTo('CreateVolume')).toHaveLength(1);
    expect(hh.plugin.store.size).toBe(1);
  });

  it('lets a CreateVolume in flight finish at shutdown and saves its PV', async () => {
    h = await startHarness();
    const hh = h;
    const hang = hh.plugin.hang('CreateVolume');
    hh.server.create(STORAGE_CLASSES, storageClass('fast'));
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('draining', 'fast'));
    await hh.plugin.waitForCalls('CreateVolume');
    const stopping = hh.sidecar.dispose();
    setTimeout(() => hang.release(), 100);
    await stopping;
    expect(pvs(hh)).toHaveLength(1);
    expect(pvs(hh)[0]!.spec?.claimRef?.name).toBe('draining');
  });

  it('never runs CreateVolume twice at the same time for one claim', async () => {
    h = await startHarness({ options: { timeoutMs: 1000 } });
    const hh = h;
    let running = 0;
    let maxRunning = 0;
    hh.plugin.setHandler('CreateVolume', async (req, ctx) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 100));
      running--;
      if (ctx.plugin.callsTo('CreateVolume').length < 3) throw grpcStatus(GrpcCode.Unavailable, 'busy');
      return ctx.plugin.store.createVolume(req);
    });
    hh.server.create(STORAGE_CLASSES, storageClass('fast'));
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('busy', 'fast'));
    for (let i = 0; i < 5; i++) {
      const pvc = hh.server.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, 'busy', 'ns')!;
      hh.server.update(PERSISTENT_VOLUME_CLAIMS, { ...pvc, metadata: { ...pvc.metadata, labels: { i: String(i) } } });
      await new Promise((r) => setTimeout(r, 30));
    }
    await eventually(() => pvs(hh).length === 1, 'provisioned');
    expect(maxRunning).toBe(1);
  });
});
