// What the resizer specs share: a namespace of their own, statically bound claims (a backend
// volume, a PV pre-bound to a claim, the claim), pods that use claims (scheduled, never run),
// reads, patches and event look-ups, and a clean-up that leaves nothing behind for the next
// spec file. API access goes through the project's KubeClient, as in resize.spec.ts.
import { existsSync, readFileSync } from 'node:fs';
import { createKubeClient, isNotFound, type KubeClient, type PersistentVolume, type PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import type { ClusterInfo } from '../../src/harness/control-plane.js';
import { waitFor } from '../../src/harness/wait.js';

export const GiB = 1024n ** 3n;

export interface CoreEvent {
  reason?: string;
  type?: string;
  message?: string;
  count?: number;
  source?: { component?: string };
  involvedObject?: { name?: string; kind?: string };
}

export interface StaticClaim {
  /** Claim name. */
  name: string;
  pv: string;
  driver: string;
  handle: string;
  size?: string;
  storageClassName: string;
  /** Replaces the PV's `csi` source (e.g. an in-tree `awsElasticBlockStore` source). */
  source?: Record<string, unknown>;
}

export class ResizerKit {
  readonly client: KubeClient;
  readonly #pvs = new Set<string>();
  readonly #classes = new Set<string>();
  readonly #vacs = new Set<string>();

  constructor(
    info: ClusterInfo,
    readonly ns: string,
  ) {
    this.client = createKubeClient({ kubeconfig: info.kubeconfig, qps: 100, burst: 200 });
  }

  async createNamespace(): Promise<void> {
    await this.#ignore(409, this.client.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: this.ns } } }));
  }

  pvcPath(name = ''): string {
    return `/api/v1/namespaces/${this.ns}/persistentvolumeclaims${name ? `/${name}` : ''}`;
  }

  getPvc(name: string): Promise<PersistentVolumeClaim> {
    return this.client.request<PersistentVolumeClaim>({ method: 'GET', path: this.pvcPath(name) });
  }

  getPv(name: string): Promise<PersistentVolume> {
    return this.client.request<PersistentVolume>({ method: 'GET', path: `/api/v1/persistentvolumes/${name}` });
  }

  patchPvc(name: string, patch: Record<string, unknown>): Promise<PersistentVolumeClaim> {
    return this.client.request<PersistentVolumeClaim>({ method: 'PATCH', path: this.pvcPath(name), body: patch, contentType: 'application/merge-patch+json' });
  }

  /** Sets the claim's storage request. */
  request(name: string, storage: string): Promise<PersistentVolumeClaim> {
    return this.patchPvc(name, { spec: { resources: { requests: { storage } } } });
  }

  async storageClass(name: string, provisioner: string, allowVolumeExpansion: boolean | undefined): Promise<void> {
    this.#classes.add(name);
    await this.#ignore(404, this.client.request({ method: 'DELETE', path: `/apis/storage.k8s.io/v1/storageclasses/${name}` }));
    await this.client.request({
      method: 'POST',
      path: '/apis/storage.k8s.io/v1/storageclasses',
      body: {
        metadata: { name },
        provisioner,
        volumeBindingMode: 'Immediate',
        reclaimPolicy: 'Retain',
        ...(allowVolumeExpansion === undefined ? {} : { allowVolumeExpansion }),
      },
    });
  }

  async volumeAttributesClass(name: string, driverName: string, parameters: Record<string, string>): Promise<void> {
    this.#vacs.add(name);
    await this.client.request({ method: 'POST', path: '/apis/storage.k8s.io/v1/volumeattributesclasses', body: { metadata: { name }, driverName, parameters } });
  }

  /** Creates the PV (pre-bound to the claim) and the claim; does not wait for binding. */
  async createStaticClaim(c: StaticClaim): Promise<void> {
    const size = c.size ?? '1Gi';
    this.#pvs.add(c.pv);
    await this.client.request({
      method: 'POST',
      path: '/api/v1/persistentvolumes',
      body: {
        metadata: { name: c.pv },
        spec: {
          capacity: { storage: size },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName: c.storageClassName,
          claimRef: { namespace: this.ns, name: c.name },
          ...(c.source ?? { csi: { driver: c.driver, volumeHandle: c.handle, fsType: 'ext4' } }),
        },
      },
    });
    await this.client.request({
      method: 'POST',
      path: this.pvcPath(),
      body: {
        metadata: { name: c.name, namespace: this.ns },
        spec: { accessModes: ['ReadWriteOnce'], storageClassName: c.storageClassName, volumeName: c.pv, resources: { requests: { storage: size } } },
      },
    });
  }

  async waitBound(name: string, timeoutMs = 60_000): Promise<PersistentVolumeClaim> {
    return waitFor(`claim ${name} Bound`, async () => {
      const c = await this.getPvc(name);
      return c.status?.phase === 'Bound' ? c : undefined;
    }, { timeoutMs });
  }

  async boundClaim(c: StaticClaim): Promise<PersistentVolumeClaim> {
    await this.createStaticClaim(c);
    return this.waitBound(c.name);
  }

  /** A pod scheduled on `node` that mounts the claim. Pods never run here: it stays Pending. */
  async pod(name: string, node: string, claim: string): Promise<void> {
    await this.client.request({
      method: 'POST',
      path: `/api/v1/namespaces/${this.ns}/pods`,
      body: {
        metadata: { name, namespace: this.ns },
        spec: {
          nodeName: node,
          containers: [{ name: 'c', image: 'none', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }],
        },
      },
    });
  }

  async deletePod(name: string): Promise<void> {
    await this.#ignore(404, this.client.request({ method: 'DELETE', path: `/api/v1/namespaces/${this.ns}/pods/${name}`, query: { gracePeriodSeconds: '0' } }));
  }

  async volumeAttachmentFor(pv: string): Promise<{ metadata?: { name?: string }; status?: { attached?: boolean } } | undefined> {
    const list = await this.client.request<{ items: { metadata?: { name?: string }; spec?: { source?: { persistentVolumeName?: string } }; status?: { attached?: boolean } }[] }>({
      method: 'GET',
      path: '/apis/storage.k8s.io/v1/volumeattachments',
    });
    return list.items.find((va) => va.spec?.source?.persistentVolumeName === pv);
  }

  async events(involved: string): Promise<CoreEvent[]> {
    const list = await this.client.request<{ items: CoreEvent[] }>({
      method: 'GET',
      path: `/api/v1/namespaces/${this.ns}/events`,
      query: { fieldSelector: `involvedObject.name=${involved}` },
    });
    return list.items;
  }

  async waitForEvent(involved: string, match: (e: CoreEvent) => boolean, what: string, timeoutMs = 60_000): Promise<CoreEvent> {
    return waitFor(`event ${what} on ${involved}`, async () => (await this.events(involved)).find(match), { timeoutMs });
  }

  /** How many times (event count summed) an event matching `match` was recorded for the object. */
  async eventCount(involved: string, match: (e: CoreEvent) => boolean): Promise<number> {
    return (await this.events(involved)).filter(match).reduce((n, e) => n + (e.count ?? 1), 0);
  }

  /**
   * Removes everything the spec made: pods first (so kube-controller-manager detaches), then the
   * namespace with its claims, the PVs (finalizers of a stopped attacher stripped), classes.
   */
  async cleanup(): Promise<void> {
    const quiet = (p: Promise<unknown>) => p.catch(() => undefined);
    const pods = await this.client.request<{ items: { metadata?: { name?: string } }[] }>({ method: 'GET', path: `/api/v1/namespaces/${this.ns}/pods` }).catch(() => ({ items: [] }));
    for (const p of pods.items) await quiet(this.deletePod(p.metadata?.name ?? ''));
    await quiet(this.client.request({ method: 'DELETE', path: `/api/v1/namespaces/${this.ns}` }));
    await waitFor('namespace gone', async () => {
      try {
        await this.client.request({ method: 'GET', path: `/api/v1/namespaces/${this.ns}` });
        return false;
      } catch (err) {
        return isNotFound(err);
      }
    }, { timeoutMs: 60_000 }).catch(() => undefined);
    const vas = await this.client
      .request<{ items: { metadata?: { name?: string }; spec?: { source?: { persistentVolumeName?: string } } }[] }>({ method: 'GET', path: '/apis/storage.k8s.io/v1/volumeattachments' })
      .catch(() => ({ items: [] }));
    for (const va of vas.items) {
      if (!this.#pvs.has(va.spec?.source?.persistentVolumeName ?? '')) continue;
      const path = `/apis/storage.k8s.io/v1/volumeattachments/${va.metadata?.name ?? ''}`;
      await quiet(this.client.request({ method: 'PATCH', path, body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' }));
      await quiet(this.client.request({ method: 'DELETE', path }));
    }
    for (const pv of this.#pvs) {
      const path = `/api/v1/persistentvolumes/${pv}`;
      await quiet(this.client.request({ method: 'PATCH', path, body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' }));
      await quiet(this.client.request({ method: 'DELETE', path }));
    }
    for (const vac of this.#vacs) await quiet(this.client.request({ method: 'DELETE', path: `/apis/storage.k8s.io/v1/volumeattributesclasses/${vac}` }));
    for (const sc of this.#classes) await quiet(this.client.request({ method: 'DELETE', path: `/apis/storage.k8s.io/v1/storageclasses/${sc}` }));
    this.client.dispose();
  }

  async #ignore(code: number, p: Promise<unknown>): Promise<void> {
    try {
      await p;
    } catch (err) {
      if ((err as { code?: unknown }).code !== code) throw err;
    }
  }
}

/** Bytes of a quantity the specs use ('1Gi', '2Gi', '1536Mi'). */
/** Lines of a sidecar's log file that contain `text`. */
export function logLines(file: string, text: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.includes(text));
}

export function bytesOf(q: string): bigint {
  const m = /^(\d+)(Mi|Gi)$/.exec(q);
  if (!m) throw new Error(`bytesOf: unsupported quantity ${q}`);
  return BigInt(m[1]!) * (m[2] === 'Gi' ? GiB : 1024n * 1024n);
}
