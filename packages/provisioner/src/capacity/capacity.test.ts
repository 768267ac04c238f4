import { afterEach, describe, expect, it } from '@jest/globals';
import { CSI_NODES, CSI_STORAGE_CAPACITIES, NODES, PODS, STORAGE_CLASSES } from '@csi-sidecars-ts/shared';
import type { CSIStorageCapacity } from '@csi-sidecars-ts/shared';
import type { FakeApiServer } from '@csi-sidecars-ts/shared/testing';
import { DRIVER, TOPOLOGY_PLUGIN_CAPS, eventually, eventuallyAsync, startHarness, storageClass, type Harness } from '../__fixtures__/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const NS = 'csi-driver';

function setup(server: FakeApiServer): void {
  for (const [n, zone] of [['node-1', 'a'], ['node-2', 'b'], ['node-3', 'b']] as const) {
    server.create(NODES, { metadata: { name: n, labels: { zone } } });
    server.create(CSI_NODES, { metadata: { name: n }, spec: { drivers: [{ name: DRIVER, nodeID: n, topologyKeys: ['zone'] }] } });
  }
  server.create(STORAGE_CLASSES, storageClass('late', { volumeBindingMode: 'WaitForFirstConsumer', parameters: { type: 'x', 'csi.storage.k8s.io/fstype': 'ext4' } }));
  server.create(STORAGE_CLASSES, storageClass('now'));
  server.create(PODS, {
    metadata: { name: 'provisioner-0', namespace: NS, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'provisioner', uid: 'sts-uid', controller: true }] },
    spec: { containers: [] },
  });
}

const capacities = (hh: Harness) => hh.server.list<CSIStorageCapacity>(CSI_STORAGE_CAPACITIES, NS);

describe('capacity tracking', () => {
  it('publishes one object per segment and WaitForFirstConsumer class, owned by the StatefulSet', async () => {
    h = await startHarness({
      plugin: { pluginCapabilities: TOPOLOGY_PLUGIN_CAPS, store: { totalCapacity: 100n * 1024n ** 3n, maximumVolumeSize: 10n * 1024n ** 3n } },
      options: { enableCapacity: true, namespace: NS, podName: 'provisioner-0', capacityOwnerrefLevel: 1, capacityPollIntervalMs: 60_000 },
      beforeStart: setup,
    });
    const hh = h;
    await eventually(() => capacities(hh).length === 2, 'two objects');
    const objs = capacities(hh).sort((a, b) => String(a.nodeTopology?.matchLabels?.zone).localeCompare(String(b.nodeTopology?.matchLabels?.zone)));
    expect(objs.map((o) => o.nodeTopology)).toEqual([{ matchLabels: { zone: 'a' } }, { matchLabels: { zone: 'b' } }]);
    expect(objs[0]).toMatchObject({
      storageClassName: 'late',
      capacity: '100Gi',
      maximumVolumeSize: '10Gi',
      metadata: {
        labels: { 'csi.storage.k8s.io/drivername': DRIVER, 'csi.storage.k8s.io/managed-by': 'external-provisioner' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'provisioner', uid: 'sts-uid', controller: true }],
      },
    });
    expect(objs[0]!.metadata?.name).toMatch(/^csisc-/);
    const calls = hh.plugin.callsTo('GetCapacity');
    expect(calls.map((c) => c.request.accessible_topology?.segments).sort((a, b) => String(a?.zone).localeCompare(String(b?.zone)))).toEqual([{ zone: 'a' }, { zone: 'b' }]);
    // Reserved keys are not sent (Go sends them).
    expect(calls[0]!.request.parameters).toEqual({ type: 'x' });
    await eventuallyAsync(async () => /csistoragecapacities_desired_goal 2/.test(await hh.registry.metrics()), 'goal metric');
  });

  it('follows StorageClass and topology changes and removes obsolete objects', async () => {
    h = await startHarness({
      plugin: { pluginCapabilities: TOPOLOGY_PLUGIN_CAPS },
      options: { enableCapacity: true, namespace: NS, capacityOwnerrefLevel: -1, capacityForImmediateBinding: true },
      beforeStart: setup,
    });
    const hh = h;
    await eventually(() => capacities(hh).length === 4, 'two classes x two segments');
    hh.server.create(NODES, { metadata: { name: 'node-4', labels: { zone: 'c' } } });
    hh.server.create(CSI_NODES, { metadata: { name: 'node-4' }, spec: { drivers: [{ name: DRIVER, nodeID: 'node-4', topologyKeys: ['zone'] }] } });
    await eventually(() => capacities(hh).length === 6, 'new segment');
    hh.server.remove(STORAGE_CLASSES, 'now');
    await eventually(() => capacities(hh).length === 3 && capacities(hh).every((c) => c.storageClassName === 'late'), 'class removed');
    // A stray object with our labels is deleted.
    hh.server.create(CSI_STORAGE_CAPACITIES, {
      metadata: { name: 'stray', namespace: NS, labels: { 'csi.storage.k8s.io/drivername': DRIVER, 'csi.storage.k8s.io/managed-by': 'external-provisioner' } },
      storageClassName: 'gone',
      capacity: '1Gi',
    });
    await eventually(() => !capacities(hh).some((c) => c.metadata?.name === 'stray') && capacities(hh).length === 3, 'stray deleted');
  });
});
