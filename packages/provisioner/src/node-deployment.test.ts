import { afterEach, describe, expect, it } from '@jest/globals';
import { PERSISTENT_VOLUMES, PERSISTENT_VOLUME_CLAIMS, STORAGE_CLASSES } from '@csi-sidecars-ts/shared';
import type { PersistentVolume, PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import { TOPOLOGY_PLUGIN_CAPS, claim, eventually, startHarness, storageClass, type Harness } from './__fixtures__/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const nodeMode = {
  plugin: { pluginCapabilities: TOPOLOGY_PLUGIN_CAPS, nodeTopology: { segments: { 'example.com/host': 'worker-1' } }, store: { totalCapacity: 5n * 1024n ** 3n } },
  options: { nodeDeployment: true, nodeName: 'worker-1', nodeDeploymentBaseDelayMs: 10, nodeDeploymentMaxDelayMs: 40 },
  beforeStart: (s: Harness['server']) => {
    s.create(STORAGE_CLASSES, storageClass('local'));
    s.create(STORAGE_CLASSES, storageClass('local-late', { volumeBindingMode: 'WaitForFirstConsumer' }));
  },
};

const selected = (hh: Harness, name: string) => hh.server.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, name, 'ns')?.metadata?.annotations?.['volume.kubernetes.io/selected-node'];
const pvs = (hh: Harness) => hh.server.list<PersistentVolume>(PERSISTENT_VOLUMES);

describe('node deployment', () => {
  it('takes an Immediate claim for its node when there is room, then provisions it there', async () => {
    h = await startHarness(nodeMode);
    const hh = h;
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('mine', 'local'));
    await eventually(() => selected(hh, 'mine') === 'worker-1', 'claim taken');
    await eventually(() => pvs(hh).length === 1, 'provisioned');
    expect(hh.plugin.callsTo('GetCapacity')[0]!.request.accessible_topology?.segments).toEqual({ 'example.com/host': 'worker-1' });
    expect(hh.plugin.callsTo('CreateVolume')[0]!.request.accessibility_requirements?.requisite).toEqual([{ segments: { 'example.com/host': 'worker-1' } }]);
    expect(pvs(hh)[0]!.spec?.nodeAffinity?.required?.nodeSelectorTerms).toEqual([{ matchExpressions: [{ key: 'example.com/host', operator: 'In', values: ['worker-1'] }] }]);
  });

  it('ignores claims of other nodes and does not take claims it has no room for', async () => {
    h = await startHarness(nodeMode);
    const hh = h;
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('theirs', 'local-late', { annotations: { 'volume.kubernetes.io/selected-node': 'worker-2' } }));
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('huge', 'local', { spec: { resources: { requests: { storage: '50Gi' } } } }));
    await eventually(() => hh.plugin.callsTo('GetCapacity').length >= 1, 'capacity checked');
    await new Promise((r) => setTimeout(r, 150));
    expect(selected(hh, 'huge')).toBeUndefined();
    expect(hh.plugin.callsTo('CreateVolume')).toHaveLength(0);
    expect(hh.recorder.events).toEqual([]);
  });

  it('deletes only volumes reachable from its node', async () => {
    h = await startHarness(nodeMode);
    const hh = h;
    const mk = (name: string, host: string, handle: string): PersistentVolume => ({
      metadata: { name, finalizers: ['external-provisioner.volume.kubernetes.io/finalizer'], annotations: { 'pv.kubernetes.io/provisioned-by': 'fake.csi.example.com' } },
      spec: {
        csi: { driver: 'fake.csi.example.com', volumeHandle: handle },
        persistentVolumeReclaimPolicy: 'Delete',
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'example.com/host', operator: 'In', values: [host] }] }] } },
      },
      status: { phase: 'Released' },
    });
    const mine = hh.plugin.store.seed({ name: 'a' });
    hh.server.create(PERSISTENT_VOLUMES, mk('pv-theirs', 'worker-2', 'elsewhere'));
    hh.server.create(PERSISTENT_VOLUMES, mk('pv-mine', 'worker-1', mine.volumeId));
    await eventually(() => hh.server.get(PERSISTENT_VOLUMES, 'pv-mine') === undefined, 'own PV deleted');
    expect(hh.plugin.callsTo('DeleteVolume').map((c) => c.request.volume_id)).toEqual([mine.volumeId]);
    expect(hh.server.get(PERSISTENT_VOLUMES, 'pv-theirs')).toBeDefined();
  });
});
