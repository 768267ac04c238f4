// Helpers the attacher specs share: statically bound claims for volumes that already exist in a
// plugin, Pods pinned to a node (the attach/detach controller then creates the VolumeAttachment),
// VolumeAttachment look-ups and a best-effort clean-up that leaves nothing behind for the next
// spec file. Everything a spec creates is named under its own namespace / prefix.
import type { V1PersistentVolume, V1VolumeAttachment } from '@kubernetes/client-node';
import { mergePatch, statusCode, type Kube } from '../../src/harness/kube.js';
import { waitFor } from '../../src/harness/wait.js';

export const NODE_ID_ANNOTATION = 'csi.alpha.kubernetes.io/node-id';

/** external-attacher's finalizer for a driver (its name made safe as external-attacher does). */
export function attacherFinalizer(driver: string): string {
  const name = driver.replace(/[^a-zA-Z0-9-]/g, '-');
  return `external-attacher/${name.endsWith('-') ? `${name}X` : name}`;
}

export class AttacherKit {
  /** PVs this spec created, for the clean-up. */
  readonly pvNames: string[] = [];

  constructor(
    readonly kube: Kube,
    readonly namespace: string,
  ) {}

  async createNamespace(): Promise<void> {
    try {
      await this.kube.core.createNamespace({ body: { metadata: { name: this.namespace } } });
    } catch (err) {
      if (statusCode(err) !== 409) throw err;
    }
  }

  /**
   * A PV of `driver` for the existing volume `handle`, pre-bound to a PVC of the same name
   * (Retain, so that nothing ever asks a provisioner to delete it), and the PVC.
   */
  async createClaim(name: string, driver: string, handle: string, opts: { accessModes?: string[] } = {}): Promise<{ pv: string; pvc: string }> {
    const pv = `${name}-pv`;
    const pvc = name;
    const accessModes = opts.accessModes ?? ['ReadWriteOnce'];
    this.pvNames.push(pv);
    await this.kube.core.createPersistentVolume({
      body: {
        metadata: { name: pv },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes,
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName: '',
          claimRef: { namespace: this.namespace, name: pvc },
          csi: { driver, volumeHandle: handle, fsType: 'ext4' },
        },
      },
    });
    await this.kube.core.createNamespacedPersistentVolumeClaim({
      namespace: this.namespace,
      body: {
        metadata: { name: pvc },
        spec: { accessModes, storageClassName: '', volumeName: pv, resources: { requests: { storage: '1Gi' } } },
      },
    });
    return { pv, pvc };
  }

  async waitBound(pvc: string, timeoutMs = 60_000): Promise<void> {
    await waitFor(
      `${this.namespace}/${pvc} Bound`,
      async () => (await this.kube.core.readNamespacedPersistentVolumeClaim({ name: pvc, namespace: this.namespace })).status?.phase === 'Bound',
      { timeoutMs },
    );
  }

  /** A Pod on `nodeName` (set directly, as the scheduler would) that uses `pvc`. It never runs. */
  async podOn(name: string, nodeName: string, pvc: string): Promise<void> {
    await this.kube.core.createNamespacedPod({
      namespace: this.namespace,
      body: {
        metadata: { name },
        spec: {
          nodeName,
          containers: [{ name: 'c', image: 'none', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: pvc } }],
        },
      },
    });
  }

  /** Deletes the Pod at once (no kubelet would ever confirm) and nudges its node (see nudgeNode). */
  async deletePod(name: string): Promise<void> {
    const pod = await this.kube.core.readNamespacedPod({ name, namespace: this.namespace });
    await this.kube.core.deleteNamespacedPod({ name, namespace: this.namespace, gracePeriodSeconds: 0 });
    if (pod.spec?.nodeName) await this.nudgeNode(pod.spec.nodeName);
  }

  /**
   * Stands in for kubelet's node status update after it unmounts a volume: the attach/detach
   * controller counts an attached volume as mounted until the Node object next changes (then it
   * reads volumesInUse), and without a kubelet that may take until the harness's next heartbeat.
   */
  async nudgeNode(nodeName: string): Promise<void> {
    await this.kube.core.patchNode(
      { name: nodeName, body: { metadata: { annotations: { 'e2e.csi-sidecars-ts/nudged-at': String(Date.now()) } } } },
      mergePatch,
    );
  }

  async vas(): Promise<V1VolumeAttachment[]> {
    return (await this.kube.storage.listVolumeAttachment()).items;
  }

  async vaFor(pv: string): Promise<V1VolumeAttachment | undefined> {
    return (await this.vas()).find((va) => va.spec.source.persistentVolumeName === pv);
  }

  /** Waits until the PV's VolumeAttachment exists and satisfies `ok`; resolves to it. */
  async waitVa(pv: string, what: string, ok: (va: V1VolumeAttachment) => boolean, timeoutMs = 60_000): Promise<V1VolumeAttachment> {
    return waitFor(
      `VolumeAttachment of ${pv}: ${what}`,
      async () => {
        const va = await this.vaFor(pv);
        return va && ok(va) ? va : undefined;
      },
      { timeoutMs },
    );
  }

  async waitVaGone(pv: string, timeoutMs = 60_000): Promise<void> {
    await waitFor(`VolumeAttachment of ${pv} deleted`, async () => (await this.vaFor(pv)) === undefined, { timeoutMs });
  }

  async readPv(name: string): Promise<V1PersistentVolume | undefined> {
    try {
      return await this.kube.core.readPersistentVolume({ name });
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  /**
   * Deletes this namespace's Pods and waits (up to `timeoutMs`, no error after) for the
   * VolumeAttachments of this spec's PVs to go, while the spec's sidecar still runs to detach them.
   */
  async drain(timeoutMs = 30_000): Promise<void> {
    const ns = this.namespace;
    const pods = await this.kube.core.listNamespacedPod({ namespace: ns }).catch(() => ({ items: [] }));
    for (const p of pods.items) await this.kube.core.deleteNamespacedPod({ name: p.metadata!.name!, namespace: ns, gracePeriodSeconds: 0 }).catch(() => undefined);
    const nodes = new Set(pods.items.map((p) => p.spec?.nodeName).filter((n): n is string => !!n));
    for (const n of nodes) await this.nudgeNode(n).catch(() => undefined);
    await waitFor(
      'the spec\'s VolumeAttachments to go',
      async () => (await this.vas()).every((va) => !this.pvNames.includes(va.spec.source.persistentVolumeName ?? '')),
      { timeoutMs },
    ).catch(() => undefined);
  }

  /**
   * Best effort: deletes the Pods, strips `finalizer` from this spec's PVs and their
   * VolumeAttachments (in case a sidecar was stopped half-way), deletes the PVs and the namespace.
   */
  async cleanUp(finalizers: readonly string[]): Promise<void> {
    const ns = this.namespace;
    const pods = await this.kube.core.listNamespacedPod({ namespace: ns }).catch(() => ({ items: [] }));
    for (const p of pods.items) await this.kube.core.deleteNamespacedPod({ name: p.metadata!.name!, namespace: ns, gracePeriodSeconds: 0 }).catch(() => undefined);
    for (const name of this.pvNames) {
      const pv = await this.readPv(name).catch(() => undefined);
      const kept = pv?.metadata?.finalizers?.filter((f) => !finalizers.includes(f));
      if (pv && kept && kept.length !== pv.metadata?.finalizers?.length) {
        await this.kube.core.patchPersistentVolume({ name, body: { metadata: { finalizers: kept } } }, mergePatch).catch(() => undefined);
      }
      await this.kube.core.deletePersistentVolume({ name }).catch(() => undefined);
    }
    const vas = await this.vas().catch(() => [] as V1VolumeAttachment[]);
    for (const va of vas) {
      if (!this.pvNames.includes(va.spec.source.persistentVolumeName ?? '')) continue;
      await this.kube.storage.patchVolumeAttachment({ name: va.metadata!.name!, body: { metadata: { finalizers: null } } }, mergePatch).catch(() => undefined);
    }
    await this.kube.core.deleteNamespace({ name: ns }).catch(() => undefined);
  }
}
