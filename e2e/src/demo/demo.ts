#!/usr/bin/env node
// `npm run demo`: a volume's life told from a user's side, on a local control plane with the CSI
// plugin and the project's three sidecars. Prints a timeline; exits 0 when every step happened,
// or non-zero naming the step that did not.
import { CsiConnection, discardLogger } from '@csi-sidecars-ts/shared';
import type { V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { ControlPlane, DRIVER_NAME } from '../harness/control-plane.js';
import { mergePatch, statusCode, type Kube } from '../harness/kube.js';
import type { ManagedProcess } from '../harness/managed-process.js';
import { startSidecarChecked, SIDECARS } from '../harness/sidecars.js';
import { waitFor } from '../harness/wait.js';

const t0 = Date.now();
const stamp = () => `${new Date().toISOString().slice(11, 23)} +${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s`;
const say = (msg: string) => console.log(`${stamp()}  ${msg}`);
const detail = (msg: string) => console.log(`${' '.repeat(stamp().length)}    ${msg}`);

class StepFailed extends Error {}

let stepName = '';
async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  stepName = name;
  say(`▶ ${name}`);
  try {
    return await fn();
  } catch (err) {
    throw new StepFailed(`step "${name}" failed: ${(err as Error).message}`);
  }
}

const NS = 'default';
const SC = 'demo-wait-for-consumer';
const PVC = 'demo-claim';
const POD = 'demo-app';

async function main(): Promise<number> {
  const cp = new ControlPlane({ nodes: 3, log: (l) => detail(l) });
  let csi: CsiConnection | undefined;
  const sidecars: ManagedProcess[] = [];
  const stop = async () => {
    await csi?.dispose();
    for (const p of sidecars) await p.stop();
    await cp.stop();
  };
  process.once('SIGINT', () => void stop().finally(() => process.exit(130)));
  try {
    const info = await step('Start the control plane (etcd, kube-apiserver, controller-manager, scheduler), 3 nodes and the CSI plugin', () => cp.start());
    const kube = cp.kube;

    await step('Start csi-provisioner, csi-attacher and csi-resizer from this build', async () => {
      for (const name of SIDECARS) {
        const p = await startSidecarChecked(info, name, { verbosity: 2 });
        cp.adopt(p);
        sidecars.push(p);
        detail(`csi-${name} running (pid ${p.pid}), log: ${p.logFile}`);
      }
    });
    csi = new CsiConnection({ address: info.csiEndpoint, logger: discardLogger });
    await csi.start();
    const backendBefore = await backendVolumes(csi);

    await step(`Create StorageClass ${SC} (WaitForFirstConsumer, allowVolumeExpansion)`, () =>
      kube.storage.createStorageClass({
        body: {
          metadata: { name: SC },
          provisioner: DRIVER_NAME,
          volumeBindingMode: 'WaitForFirstConsumer',
          allowVolumeExpansion: true,
          reclaimPolicy: 'Delete',
        },
      }),
    );

    await step(`Create PVC ${PVC} (1Gi): it stays Pending until a pod uses it`, async () => {
      await kube.core.createNamespacedPersistentVolumeClaim({
        namespace: NS,
        body: {
          metadata: { name: PVC },
          spec: { accessModes: ['ReadWriteOnce'], storageClassName: SC, resources: { requests: { storage: '1Gi' } } },
        },
      });
      await new Promise((r) => setTimeout(r, 3000));
      const pvc = await readPvc(kube);
      if (pvc.status?.phase !== 'Pending' || pvc.spec?.volumeName) throw new Error(`expected Pending with no volume, got ${pvc.status?.phase} ${pvc.spec?.volumeName ?? ''}`);
      detail(`PVC phase ${pvc.status.phase}, no volume yet (waiting for first consumer)`);
    });

    const nodeName = await step(`Create Pod ${POD} using the PVC: the scheduler picks a node`, async () => {
      await kube.core.createNamespacedPod({
        namespace: NS,
        body: {
          metadata: { name: POD },
          spec: {
            containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
            volumes: [{ name: 'data', persistentVolumeClaim: { claimName: PVC } }],
          },
        },
      });
      const selected = await waitFor('the scheduler to select a node for the claim', async () => (await readPvc(kube)).metadata?.annotations?.['volume.kubernetes.io/selected-node']);
      detail(`scheduler selected ${selected} (annotation volume.kubernetes.io/selected-node)`);
      return selected;
    });

    const pv = await step('csi-provisioner creates the volume; the PVC is Bound to a PV whose node affinity matches that node', async () => {
      const pvc = await waitFor('PVC Bound', async () => {
        const c = await readPvc(kube);
        return c.status?.phase === 'Bound' ? c : undefined;
      }, { timeoutMs: 120_000 });
      const volume = await kube.core.readPersistentVolume({ name: pvc.spec!.volumeName! });
      const node = await kube.core.readNode({ name: nodeName });
      if (!affinityMatches(volume, node.metadata?.labels ?? {})) throw new Error(`PV ${volume.metadata?.name} node affinity does not match node ${nodeName}`);
      detail(`PV ${volume.metadata?.name}: ${volume.spec?.capacity?.storage}, handle ${volume.spec?.csi?.volumeHandle}, node affinity matches ${nodeName}`);
      const podNode = await waitFor('pod bound to the node', async () => (await kube.core.readNamespacedPod({ name: POD, namespace: NS })).spec?.nodeName);
      detail(`pod ${POD} scheduled to ${podNode}`);
      return volume;
    });

    await step('The attach/detach controller creates a VolumeAttachment; csi-attacher attaches it', async () => {
      const va = await waitFor('VolumeAttachment attached', async () => {
        const list = await kube.storage.listVolumeAttachment();
        return list.items.find((a) => a.spec.source.persistentVolumeName === pv.metadata?.name && a.status?.attached);
      }, { timeoutMs: 120_000 });
      detail(`VolumeAttachment ${va.metadata?.name}: attached=${va.status?.attached} on ${va.spec.nodeName}, metadata ${JSON.stringify(va.status?.attachmentMetadata ?? {})}`);
    });

    await step('Expand the PVC to 2Gi: csi-resizer expands the volume and the new size is reported', async () => {
      await kube.core.patchNamespacedPersistentVolumeClaim({ name: PVC, namespace: NS, body: { spec: { resources: { requests: { storage: '2Gi' } } } } }, mergePatch);
      const expanded = await waitFor('PV capacity 2Gi', async () => {
        const v = await kube.core.readPersistentVolume({ name: pv.metadata!.name! });
        return v.spec?.capacity?.storage === '2Gi' ? v : undefined;
      }, { timeoutMs: 120_000 });
      detail(`PV ${expanded.metadata?.name} capacity ${expanded.spec?.capacity?.storage}`);
      const pvc = await waitFor('PVC status capacity 2Gi', async () => {
        const c = await readPvc(kube);
        return c.status?.capacity?.storage === '2Gi' ? c : undefined;
      }, { timeoutMs: 60_000 });
      detail(`PVC status capacity ${pvc.status?.capacity?.storage}`);
    });

    await step('Delete the Pod: the volume is detached', async () => {
      await kube.core.deleteNamespacedPod({ name: POD, namespace: NS, gracePeriodSeconds: 0 });
      await waitFor('VolumeAttachment gone', async () => {
        const list = await kube.storage.listVolumeAttachment();
        return !list.items.some((a) => a.spec.source.persistentVolumeName === pv.metadata?.name);
      }, { timeoutMs: 120_000 });
      detail('VolumeAttachment deleted after ControllerUnpublishVolume');
    });

    await step('Delete the PVC: the PV and the backend volume are deleted', async () => {
      await kube.core.deleteNamespacedPersistentVolumeClaim({ name: PVC, namespace: NS });
      await waitFor('PV gone', async () => {
        try {
          await kube.core.readPersistentVolume({ name: pv.metadata!.name! });
          return false;
        } catch (err) {
          return statusCode(err) === 404;
        }
      }, { timeoutMs: 120_000 });
      const backendAfter = await backendVolumes(csi!);
      if (backendAfter.has(pv.spec!.csi!.volumeHandle)) throw new Error(`backend volume ${pv.spec!.csi!.volumeHandle} still exists`);
      if (backendAfter.size !== backendBefore.size) throw new Error(`backend has ${backendAfter.size} volumes, expected ${backendBefore.size}`);
      detail(`PV deleted; the plugin's ListVolumes no longer has ${pv.spec?.csi?.volumeHandle}`);
    });

    say('✔ demo finished: provisioned, attached, expanded, detached and deleted');
    return 0;
  } catch (err) {
    say(`✘ ${(err as Error).message}`);
    for (const p of sidecars) {
      detail(`last lines of ${p.name}:`);
      for (const l of p.tail(8).split('\n')) detail(`  ${l}`);
    }
    return 1;
  } finally {
    await stop();
    void stepName;
  }
}

async function readPvc(kube: Kube): Promise<V1PersistentVolumeClaim> {
  return kube.core.readNamespacedPersistentVolumeClaim({ name: PVC, namespace: NS });
}

async function backendVolumes(csi: CsiConnection): Promise<Set<string>> {
  const res = await csi.controller.listVolumes({});
  return new Set(res.entries.map((e) => e.volume!.volume_id));
}

function affinityMatches(pv: V1PersistentVolume, labels: Record<string, string>): boolean {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
  if (!terms || terms.length === 0) return true;
  return terms.some((t) =>
    (t.matchExpressions ?? []).every((e) => e.operator === 'In' && e.values !== undefined && labels[e.key] !== undefined && e.values.includes(labels[e.key]!)),
  );
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err.message);
    process.exit(1);
  },
);
