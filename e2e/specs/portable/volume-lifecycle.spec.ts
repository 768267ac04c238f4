// A volume's whole life through the three sidecars together, told only through the Kubernetes
// API, so it runs unchanged on the local control plane (where it starts our sidecars) and on a
// kind cluster where the user deployed them (e2e/kind).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { clusterInfo, clusterKube } from '../../src/harness/cluster-env.js';
import { mergePatch, statusCode } from '../../src/harness/kube.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { SIDECARS, startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';

const info = clusterInfo();
const kube = clusterKube();
const suffix = Date.now().toString(36);
const NS = `lifecycle-${suffix}`;
const SC_WFFC = `lifecycle-wffc-${suffix}`;
const SC_IMMEDIATE = `lifecycle-immediate-${suffix}`;
const sidecars: ManagedProcess[] = [];

beforeAll(async () => {
  if (info.mode === 'local') {
    for (const name of SIDECARS) sidecars.push(await startSidecarChecked(info, name, { logName: `lifecycle-csi-${name}.log` }));
  }
  await kube.core.createNamespace({ body: { metadata: { name: NS } } });
  for (const [name, mode] of [
    [SC_WFFC, 'WaitForFirstConsumer'],
    [SC_IMMEDIATE, 'Immediate'],
  ] as const) {
    await kube.storage.createStorageClass({
      body: { metadata: { name }, provisioner: info.driverName, volumeBindingMode: mode, allowVolumeExpansion: true, reclaimPolicy: 'Delete' },
    });
  }
});

afterAll(async () => {
  await kube.core.deleteNamespace({ name: NS }).catch(() => undefined);
  for (const sc of [SC_WFFC, SC_IMMEDIATE]) await kube.storage.deleteStorageClass({ name: sc }).catch(() => undefined);
  for (const p of sidecars) await p.stop();
});

async function claim(name: string, storageClassName: string, size = '1Gi'): Promise<void> {
  await kube.core.createNamespacedPersistentVolumeClaim({
    namespace: NS,
    body: { metadata: { name }, spec: { accessModes: ['ReadWriteOnce'], storageClassName, resources: { requests: { storage: size } } } },
  });
}

async function boundVolume(name: string): Promise<V1PersistentVolume> {
  const pvc = await waitFor(`PVC ${name} Bound`, async () => {
    const c = await kube.core.readNamespacedPersistentVolumeClaim({ name, namespace: NS });
    return c.status?.phase === 'Bound' ? c : undefined;
  }, { timeoutMs: 120_000 });
  return kube.core.readPersistentVolume({ name: pvc.spec!.volumeName! });
}

async function pvGone(name: string): Promise<boolean> {
  try {
    await kube.core.readPersistentVolume({ name });
    return false;
  } catch (err) {
    return statusCode(err) === 404;
  }
}

describe('a volume through provisioner, attacher and resizer', () => {
  it('provisions an Immediate claim at once, as a PV that names our driver and the claim', async () => {
    await claim('immediate', SC_IMMEDIATE);
    const pv = await boundVolume('immediate');
    expect(pv.spec?.csi?.driver).toBe(info.driverName);
    expect(pv.spec?.claimRef?.name).toBe('immediate');
    expect(pv.spec?.capacity?.storage).toBe('1Gi');
    expect(pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by']).toBe(info.driverName);
    await kube.core.deleteNamespacedPersistentVolumeClaim({ name: 'immediate', namespace: NS });
    await waitFor(`PV ${pv.metadata?.name} deleted`, () => pvGone(pv.metadata!.name!), { timeoutMs: 120_000 });
  });

  it('waits for the first consumer, provisions on its node, attaches, expands, detaches and deletes', async () => {
    await claim('wffc', SC_WFFC);
    await new Promise((r) => setTimeout(r, 2000));
    const pending = await kube.core.readNamespacedPersistentVolumeClaim({ name: 'wffc', namespace: NS });
    expect(pending.status?.phase).toBe('Pending');
    expect(pending.spec?.volumeName).toBeUndefined();

    await kube.core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'consumer' },
        spec: {
          containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'wffc' } }],
        },
      },
    });
    const pv = await boundVolume('wffc');
    const selected = (await kube.core.readNamespacedPersistentVolumeClaim({ name: 'wffc', namespace: NS })).metadata?.annotations?.['volume.kubernetes.io/selected-node'];
    expect(selected).toBeDefined();
    const node = await kube.core.readNode({ name: selected! });
    const labels = node.metadata?.labels ?? {};
    for (const term of pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? []) {
      for (const e of term.matchExpressions ?? []) expect(e.values).toContain(labels[e.key]);
    }

    const va = await waitFor('VolumeAttachment attached', async () => {
      const list = await kube.storage.listVolumeAttachment();
      return list.items.find((a) => a.spec.source.persistentVolumeName === pv.metadata?.name && a.status?.attached);
    }, { timeoutMs: 120_000 });
    expect(va.spec.attacher).toBe(info.driverName);
    expect(va.spec.nodeName).toBe(selected);

    await kube.core.patchNamespacedPersistentVolumeClaim({ name: 'wffc', namespace: NS, body: { spec: { resources: { requests: { storage: '2Gi' } } } } }, mergePatch);
    await waitFor('PV expanded to 2Gi', async () => (await kube.core.readPersistentVolume({ name: pv.metadata!.name! })).spec?.capacity?.storage === '2Gi', { timeoutMs: 120_000 });

    await kube.core.deleteNamespacedPod({ name: 'consumer', namespace: NS, gracePeriodSeconds: 0 });
    await waitFor('VolumeAttachment gone', async () => {
      const list = await kube.storage.listVolumeAttachment();
      return !list.items.some((a) => a.spec.source.persistentVolumeName === pv.metadata?.name);
    }, { timeoutMs: 180_000 });

    await kube.core.deleteNamespacedPersistentVolumeClaim({ name: 'wffc', namespace: NS });
    await waitFor(`PV ${pv.metadata?.name} deleted`, () => pvGone(pv.metadata!.name!), { timeoutMs: 120_000 });
  });
});
