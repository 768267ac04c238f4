import { afterEach, describe, expect, it } from '@jest/globals';
import {
  PERSISTENT_VOLUMES,
  PERSISTENT_VOLUME_CLAIMS,
  REFERENCE_GRANTS,
  STORAGE_CLASSES,
  VOLUME_SNAPSHOTS,
  VOLUME_SNAPSHOT_CONTENTS,
  memoryLogger,
} from '@csi-sidecars-ts/shared';
import type { PersistentVolume, PersistentVolumeClaim, VolumeSnapshot } from '@csi-sidecars-ts/shared';
import { BASE_CONTROLLER_CAPS, DRIVER, claim, eventually, startHarness, storageClass, type Harness } from './__fixtures__/harness.js';

// Cross-namespace data sources (dataSourceRef.namespace) with the CrossNamespaceVolumeDataSource
// gate: the sidecar's ReferenceGrant informer decides, and a grant that appears later is used
// without a restart.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const GATE_ON = { featureGates: { enabled: (name: string) => name !== 'ReleaseLeaderElectionOnExit' } };
const pvs = (hh: Harness) => hh.server.list<PersistentVolume>(PERSISTENT_VOLUMES);
const pvOf = (hh: Harness, name: string) => pvs(hh).find((p) => p.spec?.claimRef?.name === name && p.spec.claimRef.namespace === 'dst');
const failures = (hh: Harness, name: string) => hh.recorder.for(name).filter((e) => e.reason === 'ProvisioningFailed');
const grantLists = (hh: Harness) => hh.server.requests.filter((r) => r.method === 'GET' && !r.watch && r.path.endsWith('/referencegrants'));

/** A bound claim `source` in namespace `src` on a volume the plugin has. */
function boundSource(hh: Harness): string {
  const vol = hh.plugin.store.seed({ name: 'src-vol' });
  const src = hh.server.create<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, {
    ...claim('source', 'fast', { namespace: 'src', spec: { volumeName: 'pv-src' } }),
    status: { phase: 'Bound' },
  });
  hh.server.create(PERSISTENT_VOLUMES, {
    metadata: { name: 'pv-src' },
    spec: { csi: { driver: DRIVER, volumeHandle: vol.volumeId }, claimRef: { name: 'source', namespace: 'src', uid: src.metadata!.uid }, persistentVolumeReclaimPolicy: 'Retain' },
    status: { phase: 'Bound' },
  });
  return vol.volumeId;
}

function grant(name: string, to: { group?: string; kind: string; name?: string }, fromNamespace = 'dst') {
  return {
    metadata: { name, namespace: 'src' },
    spec: { from: [{ group: '', kind: 'PersistentVolumeClaim', namespace: fromNamespace }], to: [{ group: '', ...to }] },
  };
}

const crossClone = (name: string) => claim(name, 'fast', { namespace: 'dst', spec: { dataSourceRef: { kind: 'PersistentVolumeClaim', name: 'source', namespace: 'src' } } });

describe('cross-namespace data sources', () => {
  it('refuses a clone from another namespace until a matching ReferenceGrant appears, then clones it', async () => {
    h = await startHarness({ options: GATE_ON, beforeStart: (s) => s.create(STORAGE_CLASSES, storageClass('fast')) });
    const hh = h;
    const sourceId = boundSource(hh);
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, crossClone('copy'));
    await eventually(() => failures(hh, 'copy').length > 0, 'refusal');
    expect(failures(hh, 'copy')[0]!.type).toBe('Warning');
    expect(failures(hh, 'copy')[0]!.message).toContain("accessing src/source of PersistentVolumeClaim dataSource from dst/copy isn't allowed");

    // Grants that do not match: another kind, another name, another namespace of origin.
    hh.server.create(REFERENCE_GRANTS, grant('wrong-kind', { group: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot' }));
    hh.server.create(REFERENCE_GRANTS, grant('wrong-name', { kind: 'PersistentVolumeClaim', name: 'other' }));
    hh.server.create(REFERENCE_GRANTS, grant('wrong-from', { kind: 'PersistentVolumeClaim' }, 'elsewhere'));
    const seen = failures(hh, 'copy').length;
    await eventually(() => failures(hh, 'copy').length >= seen + 2, 'refused again with the non-matching grants cached');
    expect(failures(hh, 'copy').at(-1)!.message).toContain("isn't allowed");
    expect(hh.plugin.callsTo('CreateVolume')).toHaveLength(0);

    hh.server.create(REFERENCE_GRANTS, grant('allow', { kind: 'PersistentVolumeClaim', name: 'source' }));
    await eventually(() => pvOf(hh, 'copy') !== undefined, 'clone PV');
    const calls = hh.plugin.callsTo('CreateVolume');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.request.volume_content_source?.volume?.volume_id).toBe(sourceId);
  });

  it('restores a snapshot from another namespace once granted', async () => {
    h = await startHarness({
      options: GATE_ON,
      plugin: { controllerCapabilities: [...BASE_CONTROLLER_CAPS, 'CREATE_DELETE_SNAPSHOT'] },
      beforeStart: (s) => {
        s.create(STORAGE_CLASSES, storageClass('fast'));
        s.create(REFERENCE_GRANTS, grant('snapshots', { group: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot' }));
      },
    });
    const hh = h;
    const snap = hh.server.create<VolumeSnapshot>(VOLUME_SNAPSHOTS, { metadata: { name: 'snap', namespace: 'src' }, spec: { source: { persistentVolumeClaimName: 'x' } } });
    hh.server.create(VOLUME_SNAPSHOT_CONTENTS, {
      metadata: { name: 'content-x' },
      spec: { driver: DRIVER, deletionPolicy: 'Delete', volumeSnapshotRef: { name: 'snap', namespace: 'src', uid: snap.metadata!.uid } },
      status: { snapshotHandle: 'snap-handle' },
    });
    hh.server.update(VOLUME_SNAPSHOTS, { ...snap, status: { boundVolumeSnapshotContentName: 'content-x', readyToUse: true, restoreSize: '1Gi' } });
    hh.plugin.setHandler('CreateVolume', (req, ctx) => {
      const res = ctx.plugin.store.createVolume({ ...req, volume_content_source: null });
      return { volume: { ...res.volume!, content_source: req.volume_content_source } };
    });
    hh.server.create(
      PERSISTENT_VOLUME_CLAIMS,
      claim('restored', 'fast', { namespace: 'dst', spec: { dataSourceRef: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'snap', namespace: 'src' } } }),
    );
    await eventually(() => pvOf(hh, 'restored') !== undefined, 'restored PV');
    expect(hh.plugin.callsTo('CreateVolume')[0]!.request.volume_content_source?.snapshot?.snapshot_id).toBe('snap-handle');
  });

  it('refuses a cross-namespace populator source without a grant (the grant is checked before the kind)', async () => {
    h = await startHarness({ options: GATE_ON, beforeStart: (s) => s.create(STORAGE_CLASSES, storageClass('fast')) });
    const hh = h;
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('populated', 'fast', { namespace: 'dst', spec: { dataSourceRef: { apiGroup: 'example.com', kind: 'Backup', name: 'b', namespace: 'src' } } }));
    await eventually(() => failures(hh, 'populated').length > 0, 'refusal');
    expect(failures(hh, 'populated')[0]!.message).toContain("accessing src/b of Backup dataSource from dst/populated isn't allowed");
    expect(hh.recorder.for('populated').map((e) => e.message)).not.toContain('Assuming an external populator will provision the volume');
  });

  it('without the gate refuses a namespaced dataSourceRef and watches no ReferenceGrants', async () => {
    h = await startHarness({ beforeStart: (s) => s.create(STORAGE_CLASSES, storageClass('fast')) });
    const hh = h;
    boundSource(hh);
    hh.server.create(REFERENCE_GRANTS, grant('allow', { kind: 'PersistentVolumeClaim' }));
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, crossClone('copy'));
    await eventually(() => failures(hh, 'copy').length > 0, 'refusal');
    expect(failures(hh, 'copy')[0]!.message).toContain('dataSourceRef namespace specified but the CrossNamespaceVolumeDataSource feature is disabled');
    expect(hh.plugin.callsTo('CreateVolume')).toHaveLength(0);
    expect(hh.server.requests.filter((r) => r.path.includes('referencegrants'))).toHaveLength(0);
  });

  it('with the gate and no ReferenceGrant API, says so and starts the controllers only once it is served', async () => {
    const { logger, lines } = memoryLogger(2);
    h = await startHarness({
      options: GATE_ON,
      logger,
      beforeStart: (s) => {
        s.create(STORAGE_CLASSES, storageClass('fast'));
        s.create(PERSISTENT_VOLUME_CLAIMS, claim('plain', 'fast'));
        // The probe and the informer's first list: what an apiserver without the CRD answers.
        s.failNext({ method: 'GET', path: '/referencegrants' }, { code: 404, reason: 'NotFound', message: 'the server could not find the requested resource' }, 2);
      },
    });
    const hh = h;
    // startProvisioner returned only after the informer's list succeeded on its retry.
    expect(grantLists(hh)).toHaveLength(3);
    const text = lines.join('\n');
    expect(text).toContain('does not serve gateway.networking.k8s.io/v1beta1 referencegrants: install the Gateway API ReferenceGrant CRD');
    await eventually(() => pvs(hh).some((p) => p.spec?.claimRef?.name === 'plain'), 'provisioned after the cache synced');
  });
});
