import { afterEach, describe, expect, it } from '@jest/globals';
import type { PersistentVolume, VolumeAttachment } from '@csi-sidecars-ts/shared';
import { CSI_NODES, GrpcCode, PERSISTENT_VOLUMES, SECRETS, VOLUME_ATTACHMENTS, flushMicrotasks } from '@csi-sidecars-ts/shared';
import type { AttacherEnv } from './__fixtures__/env.js';
import { eventually, startEnv } from './__fixtures__/env.js';
import { DRIVER, FINALIZER, PV_PROTECTION, csiPv, va } from './__fixtures__/objects.js';

let env: AttacherEnv | undefined;
afterEach(async () => {
  await env?.dispose();
  env = undefined;
});

const getVa = (name: string) => env!.server.get<VolumeAttachment>(VOLUME_ATTACHMENTS, name);
const getPv = (name: string) => env!.server.get<PersistentVolume>(PERSISTENT_VOLUMES, name);
const writes = () => env!.server.requests.filter((r) => r.method === 'PATCH' || r.method === 'PUT' || r.method === 'POST');

describe('attach', () => {
  it('publishes to the CSINode node ID and records finalizers, annotation and metadata in 3 writes', async () => {
    env = await startEnv();
    env.plugin.store.seed({ volumeId: 'vol-1' });
    await env.createPv(csiPv('pv-1', { handle: 'vol-1', fsType: 'xfs', attributes: { tier: 'gold' }, mountOptions: ['noatime'] }));
    env.server.requests.length = 0;
    env.server.create(VOLUME_ATTACHMENTS, va('va-1', { pv: 'pv-1' }));

    await eventually(() => getVa('va-1')?.status?.attached === true, 'VA attached');
    const stored = getVa('va-1')!;
    expect(stored.status).toEqual({ attached: true, attachmentMetadata: { devicePath: '/dev/fake/vol-1' } });
    expect(stored.metadata?.finalizers).toEqual([FINALIZER]);
    expect(stored.metadata?.annotations).toEqual({ 'csi.alpha.kubernetes.io/node-id': 'csi-node-1' });
    expect(getPv('pv-1')?.metadata?.finalizers).toEqual([PV_PROTECTION, FINALIZER]);

    const [call] = env.plugin.callsTo('ControllerPublishVolume');
    expect(call?.request).toMatchObject({
      volume_id: 'vol-1',
      node_id: 'csi-node-1',
      readonly: false,
      volume_context: { tier: 'gold' },
      secrets: {},
      volume_capability: { mount: { fs_type: 'xfs', mount_flags: ['noatime'] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } },
    });
    // PV finalizer first, then VA metadata, then status.
    expect(writes().map((w) => w.path)).toEqual([
      '/api/v1/persistentvolumes/pv-1',
      '/apis/storage.k8s.io/v1/volumeattachments/va-1',
      '/apis/storage.k8s.io/v1/volumeattachments/va-1/status',
    ]);

    // Attached and nothing pending: a resync-like update does not publish again.
    env.server.update(VOLUME_ATTACHMENTS, { ...getVa('va-1')!, metadata: { ...getVa('va-1')!.metadata, labels: { touched: 'yes' } } });
    await eventually(() => env!.handle.controller.lanes.depth('attach') === 0, 'queue idle');
    expect(env.plugin.callsTo('ControllerPublishVolume')).toHaveLength(1);
  });

  it('retries at once when the PV reaches the cache after its VolumeAttachment', async () => {
    env = await startEnv({ run: { retryIntervalStartMs: 60_000, retryIntervalMaxMs: 60_000 } });
    env.plugin.store.seed({ volumeId: 'vol-late' });
    env.server.create(VOLUME_ATTACHMENTS, va('va-late', { pv: 'pv-late' }));
    await eventually(() => getVa('va-late')?.status?.attachError !== undefined, 'first attempt failed');
    expect(getVa('va-late')!.status!.attachError!.message).toBe('persistentvolume "pv-late" not found');
    env.server.create(PERSISTENT_VOLUMES, csiPv('pv-late', { handle: 'vol-late' }));
    await eventually(() => getVa('va-late')?.status?.attached === true, 'attached without waiting for the backoff');
  });

  it('ignores VolumeAttachments of other drivers', async () => {
    env = await startEnv();
    await env.createPv(csiPv('pv-o', { handle: 'vol-o' }));
    env.server.requests.length = 0;
    env.server.create(VOLUME_ATTACHMENTS, va('va-other', { pv: 'pv-o', attacher: 'other.driver' }));
    env.server.create(VOLUME_ATTACHMENTS, va('va-mine', { pv: 'missing-pv' }));
    await eventually(() => getVa('va-mine')?.status?.attachError !== undefined, 'our VA processed');
    expect(getVa('va-other')?.status).toBeUndefined();
    expect(getVa('va-other')?.metadata?.finalizers).toBeUndefined();
    expect(writes().some((w) => w.path.includes('va-other'))).toBe(false);
  });

  it('refuses to attach a PV marked for deletion', async () => {
    env = await startEnv();
    await env.createPv(csiPv('pv-del', { finalizers: [PV_PROTECTION] }));
    env.server.remove(PERSISTENT_VOLUMES, 'pv-del');
    await eventually(() => env!.handle.caches.persistentVolumes.getByName(undefined, 'pv-del')?.metadata?.deletionTimestamp !== undefined, 'deletion cached');
    env.server.create(VOLUME_ATTACHMENTS, va('va-del', { pv: 'pv-del' }));
    await eventually(() => getVa('va-del')?.status?.attachError !== undefined, 'attach error saved');
    const error = getVa('va-del')!.status!.attachError!;
    expect(error.message).toBe('PersistentVolume "pv-del" is marked for deletion');
    expect(error.errorCode).toBeUndefined();
    expect(getVa('va-del')?.metadata?.finalizers).toBeUndefined();
    expect(getPv('pv-del')?.metadata?.finalizers).toEqual([PV_PROTECTION]);
    expect(env.plugin.callsTo('ControllerPublishVolume')).toHaveLength(0);
  });

  it('needs the CSINode on attach (no annotation fallback) and adds no VA finalizer before it has it', async () => {
    env = await startEnv();
    env.plugin.store.seed({ volumeId: 'vol-n' });
    await env.createPv(csiPv('pv-n', { handle: 'vol-n' }));
    env.server.create(VOLUME_ATTACHMENTS, va('va-n', { pv: 'pv-n', node: 'node-9', annotations: { 'csi.alpha.kubernetes.io/node-id': 'stale' } }));
    await eventually(() => getVa('va-n')?.status?.attachError !== undefined, 'attach error saved');
    expect(getVa('va-n')!.status!.attachError!.message).toBe('csinode.storage.k8s.io "node-9" not found');
    expect(getVa('va-n')?.metadata?.finalizers).toBeUndefined();
    expect(env.plugin.callsTo('ControllerPublishVolume')).toHaveLength(0);

    // The node plugin registers: the retry attaches.
    env.server.create(CSI_NODES, { metadata: { name: 'node-9' }, spec: { drivers: [{ name: DRIVER, nodeID: 'csi-node-9' }] } });
    await eventually(() => getVa('va-n')?.status?.attached === true, 'attached after CSINode appeared');
    expect(getVa('va-n')?.status?.attachError).toBeUndefined();
    expect(getVa('va-n')?.metadata?.annotations?.['csi.alpha.kubernetes.io/node-id']).toBe('csi-node-9');
  });

  it('saves a driver error with its gRPC code and retries until it succeeds', async () => {
    env = await startEnv();
    env.plugin.store.seed({ volumeId: 'vol-e' });
    await env.createPv(csiPv('pv-e', { handle: 'vol-e' }));
    env.plugin.fail('ControllerPublishVolume', GrpcCode.ResourceExhausted, 'node has no free slot', 2);
    env.server.create(VOLUME_ATTACHMENTS, va('va-e', { pv: 'pv-e' }));
    await eventually(() => getVa('va-e')?.status?.attachError !== undefined, 'attach error saved');
    expect(getVa('va-e')!.status!.attachError).toMatchObject({
      message: 'rpc error: code = ResourceExhausted desc = node has no free slot',
      errorCode: 8,
    });
    expect(getVa('va-e')!.status!.attachError!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // The finalizer and annotation went on before the call: a detach must follow whatever happens.
    expect(getVa('va-e')?.metadata?.finalizers).toEqual([FINALIZER]);
    await eventually(() => getVa('va-e')?.status?.attached === true, 'attached on retry');
    expect(getVa('va-e')?.status?.attachError).toBeUndefined();
    expect(env.plugin.callsTo('ControllerPublishVolume')).toHaveLength(3);
  });

  it('does not let its own error writes defeat the backoff', async () => {
    env = await startEnv({ run: { retryIntervalStartMs: 60_000, retryIntervalMaxMs: 60_000 } });
    env.plugin.store.seed({ volumeId: 'vol-b' });
    await env.createPv(csiPv('pv-b', { handle: 'vol-b' }));
    env.plugin.fail('ControllerPublishVolume', GrpcCode.Internal, 'broken');
    env.server.create(VOLUME_ATTACHMENTS, va('va-b', { pv: 'pv-b' }));
    const lane = env.handle.controller.lanes.queues.attach;
    const store = env.handle.controller.lanes;
    await eventually(() => getVa('va-b')?.status?.attachError !== undefined, 'attach error saved');
    // Wait until the error write came back through the watch and the worker finished.
    await eventually(() => lane.processingCount() === 0 && lane.waitingCount() === 1, 'backing off');
    await flushMicrotasks();
    expect(lane.len()).toBe(0);
    expect(store.depth('attach')).toBe(1);
    expect(env.plugin.callsTo('ControllerPublishVolume')).toHaveLength(1);
  });

  it('passes the controllerPublishSecretRef data to publish and reports a missing secret', async () => {
    env = await startEnv();
    env.plugin.store.seed({ volumeId: 'vol-s' });
    await env.createPv(csiPv('pv-s', { handle: 'vol-s', secretRef: { name: 'creds', namespace: 'kube-system' } }));
    env.server.create(VOLUME_ATTACHMENTS, va('va-s', { pv: 'pv-s' }));
    await eventually(() => getVa('va-s')?.status?.attachError !== undefined, 'missing secret reported');
    expect(getVa('va-s')!.status!.attachError!.message).toMatch(/^failed to load secret "kube-system\/creds": /);
    env.server.create(SECRETS, { metadata: { name: 'creds', namespace: 'kube-system' }, data: { token: Buffer.from('t0ken').toString('base64') } });
    await eventually(() => getVa('va-s')?.status?.attached === true, 'attached with the secret');
    expect(env.plugin.callsTo('ControllerPublishVolume').at(-1)?.request.secrets).toEqual({ token: 't0ken' });
  });

  it('reports a driver that hangs (timeout) or answers garbage, and keeps serving other VAs', async () => {
    env = await startEnv({ run: { timeoutMs: 300, retryIntervalStartMs: 60_000, retryIntervalMaxMs: 60_000 } });
    env.plugin.store.seed({ volumeId: 'vol-h' });
    await env.createPv(csiPv('pv-h', { handle: 'vol-h' }));
    const hang = env.plugin.hang('ControllerPublishVolume');
    env.server.create(VOLUME_ATTACHMENTS, va('va-h', { pv: 'pv-h' }));
    await eventually(() => getVa('va-h')?.status?.attachError !== undefined, 'timeout saved', 5000);
    expect(getVa('va-h')!.status!.attachError).toMatchObject({ errorCode: GrpcCode.DeadlineExceeded, message: expect.stringContaining('DeadlineExceeded') });
    const uncertain = await env.registry.getSingleMetric('csi_attacher_uncertain_attachments')!.get();
    expect(uncertain.values[0]?.value).toBe(1);
    hang.release();

    env.plugin.garbage('ControllerPublishVolume');
    env.plugin.store.seed({ volumeId: 'vol-g' });
    await env.createPv(csiPv('pv-g', { handle: 'vol-g' }));
    env.server.create(VOLUME_ATTACHMENTS, va('va-g', { pv: 'pv-g' }));
    await eventually(() => getVa('va-g')?.status?.attachError !== undefined, 'garbage reported');
    expect(getVa('va-g')!.status!.attachError!.message).not.toBe('');

    // A malformed VA (no source) gets a clear error too, and none of this blocks a good VA.
    env.plugin.resetHandler('ControllerPublishVolume');
    const bad = va('va-nosource');
    bad.spec!.source = {};
    env.server.create(VOLUME_ATTACHMENTS, bad);
    env.plugin.store.seed({ volumeId: 'vol-ok' });
    await env.createPv(csiPv('pv-ok', { handle: 'vol-ok' }));
    env.server.create(VOLUME_ATTACHMENTS, va('va-ok', { pv: 'pv-ok' }));
    await eventually(() => getVa('va-ok')?.status?.attached === true, 'good VA attached');
    await eventually(() => getVa('va-nosource')?.status?.attachError !== undefined, 'malformed VA reported');
    expect(getVa('va-nosource')!.status!.attachError!.message).toBe('neither InlineCSIVolumeSource nor PersistentVolumeName specified in VA source');
  });

  it('attaches an inline volume spec without touching any PV', async () => {
    env = await startEnv();
    env.plugin.store.seed({ volumeId: 'vol-inline' });
    env.server.create(VOLUME_ATTACHMENTS, va('va-inline', { inline: csiPv('unused', { handle: 'vol-inline', volumeMode: 'Block' }).spec! }));
    await eventually(() => getVa('va-inline')?.status?.attached === true, 'inline attached');
    expect(env.plugin.callsTo('ControllerPublishVolume')[0]?.request.volume_capability).toMatchObject({ block: {} });
    expect(writes().some((w) => w.path.includes('/persistentvolumes/'))).toBe(false);
  });
});

describe('detach', () => {
  async function attached(name: string, pv: string, handle: string): Promise<void> {
    if (!getPv(pv)) await env!.createPv(csiPv(pv, { handle }));
    if (!env!.plugin.store.get(handle)) env!.plugin.store.seed({ volumeId: handle });
    env!.server.create(VOLUME_ATTACHMENTS, va(name, { pv }));
    await eventually(() => getVa(name)?.status?.attached === true, `${name} attached`);
  }

  it('unpublishes once, removes the finalizer before the status, and releases the PV finalizer', async () => {
    env = await startEnv();
    await attached('va-d', 'pv-d', 'vol-d');
    expect(env.plugin.store.get('vol-d')?.publications.has('csi-node-1')).toBe(true);
    env.server.requests.length = 0;
    env.server.remove(VOLUME_ATTACHMENTS, 'va-d');
    await eventually(() => getVa('va-d') === undefined, 'VA gone');
    expect(env.plugin.callsTo('ControllerUnpublishVolume')).toHaveLength(1);
    expect(env.plugin.callsTo('ControllerUnpublishVolume')[0]?.request).toMatchObject({ volume_id: 'vol-d', node_id: 'csi-node-1' });
    expect(env.plugin.store.get('vol-d')?.publications.size).toBe(0);
    const vaWrites = writes().filter((w) => w.path.includes('va-d'));
    expect(vaWrites[0]?.path).toBe('/apis/storage.k8s.io/v1/volumeattachments/va-d');
    expect(JSON.parse(vaWrites[0]!.body)).toEqual([
      { op: 'test', path: '/metadata/finalizers/0', value: FINALIZER },
      { op: 'remove', path: '/metadata/finalizers/0' },
    ]);

    // The PV keeps our finalizer until it is deleted, then loses it (no VA uses it).
    expect(getPv('pv-d')?.metadata?.finalizers).toContain(FINALIZER);
    env.server.remove(PERSISTENT_VOLUMES, 'pv-d');
    await eventually(() => !getPv('pv-d')?.metadata?.finalizers?.includes(FINALIZER), 'PV finalizer released');
    expect(getPv('pv-d')?.metadata?.finalizers).toEqual([PV_PROTECTION]);
  });

  it('keeps the PV finalizer while another VolumeAttachment uses the PV', async () => {
    env = await startEnv();
    await env.createPv(csiPv('pv-shared', { handle: 'vol-shared', accessModes: ['ReadWriteMany'] }));
    await attached('va-x', 'pv-shared', 'vol-shared');
    await env.createCsiNode({ metadata: { name: 'node-2' }, spec: { drivers: [{ name: DRIVER, nodeID: 'csi-node-2' }] } });
    env.server.create(VOLUME_ATTACHMENTS, va('va-y', { pv: 'pv-shared', node: 'node-2' }));
    await eventually(() => getVa('va-y')?.status?.attached === true, 'second VA attached');
    env.server.remove(PERSISTENT_VOLUMES, 'pv-shared');
    env.server.remove(VOLUME_ATTACHMENTS, 'va-x');
    await eventually(() => getVa('va-x') === undefined, 'first VA gone');
    await eventually(() => env!.handle.controller.pvQueue.len() === 0 && env!.handle.controller.pvQueue.processingCount() === 0, 'PV queue idle');
    expect(getPv('pv-shared')?.metadata?.finalizers).toContain(FINALIZER);
    env.server.remove(VOLUME_ATTACHMENTS, 'va-y');
    await eventually(() => !getPv('pv-shared')?.metadata?.finalizers?.includes(FINALIZER), 'released after the last VA');
  });

  it('falls back to the node-id annotation when the CSINode is gone', async () => {
    env = await startEnv();
    await attached('va-gone-node', 'pv-g', 'vol-g');
    env.server.remove(CSI_NODES, 'node-1');
    env.server.remove(VOLUME_ATTACHMENTS, 'va-gone-node');
    await eventually(() => getVa('va-gone-node') === undefined, 'VA gone');
    expect(env.plugin.callsTo('ControllerUnpublishVolume')[0]?.request.node_id).toBe('csi-node-1');
  });

  it('saves any unpublish error (NotFound included), keeps the finalizer and retries', async () => {
    env = await startEnv();
    await attached('va-f', 'pv-f', 'vol-f');
    env.plugin.fail('ControllerUnpublishVolume', GrpcCode.NotFound, 'node not found', 2);
    env.server.remove(VOLUME_ATTACHMENTS, 'va-f');
    await eventually(() => getVa('va-f')?.status?.detachError !== undefined, 'detach error saved');
    expect(getVa('va-f')!.status!.detachError).toEqual({ time: expect.any(String), message: 'rpc error: code = NotFound desc = node not found' });
    expect(getVa('va-f')?.metadata?.finalizers).toEqual([FINALIZER]);
    await eventually(() => getVa('va-f') === undefined, 'detached on retry');
    expect(env.plugin.callsTo('ControllerUnpublishVolume')).toHaveLength(3);
  });

  it('does not unpublish again when the finalizer removal after a successful unpublish fails (#587)', async () => {
    env = await startEnv();
    await attached('va-w', 'pv-w', 'vol-w');
    env.server.failNext({ method: 'PATCH', path: /\/volumeattachments\/va-w$/ }, { code: 500, reason: 'InternalError', message: 'etcd hiccup' }, 3);
    env.server.remove(VOLUME_ATTACHMENTS, 'va-w');
    await eventually(() => getVa('va-w') === undefined, 'VA detached and gone');
    expect(env.plugin.callsTo('ControllerUnpublishVolume')).toHaveLength(1);
    expect(env.plugin.store.get('vol-w')?.publications.size).toBe(0);

    // The memory is per VolumeAttachment UID: a new VA under the same name is unpublished again.
    await attached('va-w', 'pv-w', 'vol-w');
    env.server.remove(VOLUME_ATTACHMENTS, 'va-w');
    await eventually(() => getVa('va-w') === undefined, 'second VA detached and gone');
    expect(env.plugin.callsTo('ControllerUnpublishVolume')).toHaveLength(2);
    expect(env.plugin.store.get('vol-w')?.publications.size).toBe(0);
  });

  it('detaches a VA whose attach never succeeded (attach is uncertain until attached)', async () => {
    env = await startEnv({ run: { retryIntervalStartMs: 60_000, retryIntervalMaxMs: 60_000 } });
    env.plugin.store.seed({ volumeId: 'vol-u' });
    await env.createPv(csiPv('pv-u', { handle: 'vol-u' }));
    env.plugin.fail('ControllerPublishVolume', GrpcCode.DeadlineExceeded, 'took too long');
    env.server.create(VOLUME_ATTACHMENTS, va('va-u', { pv: 'pv-u' }));
    await eventually(() => getVa('va-u')?.status?.attachError !== undefined, 'attach failed');
    const uncertain = await env.registry.getSingleMetric('csi_attacher_uncertain_attachments')!.get();
    expect(uncertain.values[0]?.value).toBe(1);
    // Deleting it goes to the detach lane at once, despite the attach lane's 60 s backoff.
    env.server.remove(VOLUME_ATTACHMENTS, 'va-u');
    await eventually(() => getVa('va-u') === undefined, 'VA detached and gone');
    expect(env.plugin.callsTo('ControllerUnpublishVolume')).toHaveLength(1);
    const after = await env.registry.getSingleMetric('csi_attacher_uncertain_attachments')!.get();
    expect(after.values[0]?.value).toBe(0);
  });
});

describe('reconciler', () => {
  it('re-attaches a volume detached behind our back and detaches one attached behind our back', async () => {
    env = await startEnv({ run: { reconcileSyncMs: 100 } });
    expect(env.handle.reconciling).toBe(true);
    await attachedVia(env, 'va-r1', 'pv-r1', 'vol-r1');
    // Someone unpublishes vol-r1 behind our back.
    env.plugin.store.get('vol-r1')!.publications.clear();
    await eventually(() => env!.plugin.store.get('vol-r1')!.publications.has('csi-node-1'), 'republished by the reconciler');
    expect(env.plugin.callsTo('ControllerPublishVolume').length).toBeGreaterThanOrEqual(2);

    // A VA we detached (another controller's finalizer keeps it around) whose volume then gets
    // published to its node again behind our back.
    env.plugin.store.seed({ volumeId: 'vol-r2' });
    await env.createPv(csiPv('pv-r2', { handle: 'vol-r2' }));
    env.server.create(VOLUME_ATTACHMENTS, va('va-r2', { pv: 'pv-r2', finalizers: ['example.com/hold'] }));
    await eventually(() => getVa('va-r2')?.status?.attached === true, 'va-r2 attached');
    env.server.remove(VOLUME_ATTACHMENTS, 'va-r2');
    await eventually(() => getVa('va-r2')?.status?.attached === false, 'va-r2 detached');
    expect(getVa('va-r2')?.metadata?.finalizers).toEqual(['example.com/hold']);
    const unpublishes = env.plugin.callsTo('ControllerUnpublishVolume').length;
    env.plugin.store.get('vol-r2')!.publications.set('csi-node-1', { nodeId: 'csi-node-1', readonly: false, publishContext: {} });
    await eventually(() => env!.plugin.store.get('vol-r2')!.publications.size === 0, 'unpublished by the reconciler');
    expect(env.plugin.callsTo('ControllerUnpublishVolume').length).toBeGreaterThan(unpublishes);
    expect(getVa('va-r2')?.metadata?.finalizers).toEqual(['example.com/hold']);
  });

  it('does not publish again a volume whose attach it finished while its cache lagged behind', async () => {
    env = await startEnv({ run: { reconcileSyncMs: 20 } });
    env.plugin.store.seed({ volumeId: 'vol-lag' });
    await env.createPv(csiPv('pv-lag', { handle: 'vol-lag' }));
    const hang = env.plugin.hang('ControllerPublishVolume');
    env.server.create(VOLUME_ATTACHMENTS, va('va-lag', { pv: 'pv-lag' }));
    await env.plugin.waitForCalls('ControllerPublishVolume', 1);
    // From now on the cache keeps the VA as "not attached" while the publish completes and the
    // status write succeeds: each reconciler pass sees a published volume with attached=false.
    env.server.stallWatches(true);
    hang.release();
    await eventually(() => getVa('va-lag')?.status?.attached === true, 'attached on the server');
    const lists = env.plugin.callsTo('ListVolumes').length;
    await env.plugin.waitForCalls('ListVolumes', lists + 5);
    await eventually(() => env!.handle.controller.lanes.depth('attach') === 0, 'attach lane idle');
    expect(env.handle.caches.volumeAttachments.getByName(undefined, 'va-lag')?.status?.attached).not.toBe(true);
    expect(env.plugin.callsTo('ControllerPublishVolume')).toHaveLength(1);

    // The cache catches up: still one publish.
    env.server.unstall();
    env.server.dropWatches();
    await eventually(() => env!.handle.caches.volumeAttachments.getByName(undefined, 'va-lag')?.status?.attached === true, 'cache caught up');
    await env.plugin.waitForCalls('ListVolumes', env.plugin.callsTo('ListVolumes').length + 3);
    expect(env.plugin.callsTo('ControllerPublishVolume')).toHaveLength(1);

    // A real mismatch later on is still repaired.
    env.plugin.store.get('vol-lag')!.publications.clear();
    await eventually(() => env!.plugin.store.get('vol-lag')!.publications.has('csi-node-1'), 'republished by the reconciler');
    expect(env.plugin.callsTo('ControllerPublishVolume')).toHaveLength(2);
  });

  it('does not unpublish again a volume whose detach it finished while its cache lagged behind', async () => {
    env = await startEnv({ run: { reconcileSyncMs: 20 } });
    env.plugin.store.seed({ volumeId: 'vol-dlag' });
    await env.createPv(csiPv('pv-dlag', { handle: 'vol-dlag' }));
    // Another controller's finalizer keeps the VA around after we let go of it.
    env.server.create(VOLUME_ATTACHMENTS, va('va-dlag', { pv: 'pv-dlag', finalizers: ['example.com/hold'] }));
    await eventually(() => env!.handle.caches.volumeAttachments.getByName(undefined, 'va-dlag')?.status?.attached === true, 'attached and cached');
    const hang = env.plugin.hang('ControllerUnpublishVolume');
    env.server.remove(VOLUME_ATTACHMENTS, 'va-dlag');
    await env.plugin.waitForCalls('ControllerUnpublishVolume', 1);
    // The cache keeps the VA as attached, with our finalizer, while the detach completes.
    env.server.stallWatches(true);
    hang.release();
    await eventually(() => getVa('va-dlag')?.status?.attached === false, 'detached on the server');
    const lists = env.plugin.callsTo('ListVolumes').length;
    await env.plugin.waitForCalls('ListVolumes', lists + 5);
    await eventually(() => env!.handle.controller.lanes.depth('detach') === 0, 'detach lane idle');
    expect(env.handle.caches.volumeAttachments.getByName(undefined, 'va-dlag')?.metadata?.finalizers).toContain(FINALIZER);
    expect(env.plugin.callsTo('ControllerUnpublishVolume')).toHaveLength(1);
    expect(getVa('va-dlag')?.metadata?.finalizers).toEqual(['example.com/hold']);
  });

  it('is off without LIST_VOLUMES_PUBLISHED_NODES', async () => {
    env = await startEnv({ plugin: { controllerCapabilities: ['PUBLISH_UNPUBLISH_VOLUME', 'LIST_VOLUMES'] }, run: { reconcileSyncMs: 50 } });
    expect(env.handle.reconciling).toBe(false);
    await attachedVia(env, 'va-nr', 'pv-nr', 'vol-nr');
    expect(env.plugin.callsTo('ListVolumes')).toHaveLength(0);
  });
});

describe('trivial handler', () => {
  it.each([
    ['no PUBLISH_UNPUBLISH_VOLUME', { controllerCapabilities: ['CREATE_DELETE_VOLUME' as const] }],
    ['no CONTROLLER_SERVICE', { pluginCapabilities: [] }],
  ])('marks VAs attached with no finalizers, PV writes or CSI calls (%s)', async (_t, plugin) => {
    env = await startEnv({ plugin });
    expect(env.handle.handlerKind).toBe('trivial');
    await env.createPv(csiPv('pv-t', { handle: 'vol-t' }));
    env.server.requests.length = 0;
    env.plugin.clearCalls();
    env.server.create(VOLUME_ATTACHMENTS, va('va-t', { pv: 'pv-t' }));
    await eventually(() => getVa('va-t')?.status?.attached === true, 'marked attached');
    expect(getVa('va-t')?.metadata?.finalizers).toBeUndefined();
    expect(writes().map((w) => w.path)).toEqual(['/apis/storage.k8s.io/v1/volumeattachments/va-t/status']);
    expect(env.plugin.calls).toHaveLength(0);
    env.server.remove(VOLUME_ATTACHMENTS, 'va-t');
    expect(getVa('va-t')).toBeUndefined();
  });
});

describe('metrics', () => {
  it('exposes the Go queue names and the pending-work gauges', async () => {
    env = await startEnv({ run: { retryIntervalStartMs: 60_000, retryIntervalMaxMs: 60_000 } });
    env.server.create(VOLUME_ATTACHMENTS, va('va-pending', { pv: 'no-such-pv' }));
    await eventually(() => getVa('va-pending')?.status?.attachError !== undefined, 'attach failed');
    const text = await env.registry.metrics();
    expect(text).toContain('workqueue_adds_total{name="csi-attacher-va"}');
    expect(text).toContain('workqueue_depth{name="csi-attacher-pv"}');
    expect(text).toContain('csi_attacher_pending_operations{operation="attach"} 1');
    expect(text).toContain('csi_attacher_pending_operations{operation="detach"} 0');
    expect(text).toMatch(/csi_attacher_oldest_pending_operation_seconds\{operation="attach"\} \d/);
  });
});

async function attachedVia(e: AttacherEnv, name: string, pv: string, handle: string): Promise<void> {
  e.plugin.store.seed({ volumeId: handle });
  await e.createPv(csiPv(pv, { handle }));
  e.server.create(VOLUME_ATTACHMENTS, va(name, { pv }));
  await eventually(() => e.server.get<VolumeAttachment>(VOLUME_ATTACHMENTS, name)?.status?.attached === true, `${name} attached`);
}
