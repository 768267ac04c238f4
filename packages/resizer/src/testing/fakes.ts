// In-memory doubles for controller tests: an informer whose events the test drives, an API
// that keeps PVCs and PVs with resourceVersions (409 on a stale precondition, like the
// apiserver) and feeds its writes back to the informers, and a scriptable volume resizer.

import { applyMergePatch, createMergePatch, isEmptyPatch, KubeApiError, parseQuantity } from '@csi-sidecars-ts/shared';
import type {
  Disposable,
  EventHandlers,
  HandlerOptions,
  KubeObject,
  PersistentVolume,
  PersistentVolumeClaim,
  Quantity,
  Secret,
} from '@csi-sidecars-ts/shared';
import type { ClaimMutation, ClaimStatusWriteOptions, ResizerApi } from '../api/resizer-api.js';
import type { CachedResource } from '../controller/shared-types.js';
import { driverServesVolume } from '../controller/volume-match.js';
import type { ExpandResult, VolumeResizer } from '../resizer/volume-resizer.js';

function keyOf(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata?.name}` : (obj.metadata?.name ?? '');
}

export class FakeInformer<T extends KubeObject> implements CachedResource<T> {
  readonly #items = new Map<string, T>();
  readonly #handlers: EventHandlers<T>[] = [];
  readonly store = {
    get: (key: string): T | undefined => this.#items.get(key),
    list: (): T[] => [...this.#items.values()],
  };

  addEventHandler(handlers: EventHandlers<T>, _opts?: HandlerOptions): Disposable {
    this.#handlers.push(handlers);
    for (const obj of this.#items.values()) handlers.onAdd?.(obj, true);
    return {
      dispose: () => {
        const i = this.#handlers.indexOf(handlers);
        if (i >= 0) this.#handlers.splice(i, 1);
      },
    };
  }

  waitForSync(): Promise<void> {
    return Promise.resolve();
  }

  /** Add or update, notifying handlers like a watch event. */
  set(obj: T): void {
    const key = keyOf(obj);
    const old = this.#items.get(key);
    this.#items.set(key, obj);
    for (const h of [...this.#handlers]) {
      if (old) h.onUpdate?.(old, obj);
      else h.onAdd?.(obj, false);
    }
  }

  /** Changes the cache without telling anyone (a handler-less initial state). */
  seed(obj: T): void {
    this.#items.set(keyOf(obj), obj);
  }

  remove(key: string): void {
    const old = this.#items.get(key);
    if (!old) return;
    this.#items.delete(key);
    for (const h of [...this.#handlers]) h.onDelete?.(old);
  }

  /** What a resync does: every object re-delivered as onUpdate(obj, obj). */
  resync(): void {
    for (const obj of this.#items.values()) for (const h of [...this.#handlers]) h.onUpdate?.(obj, obj);
  }
}

export interface RecordedWrite {
  kind: 'pvc-status' | 'pv';
  name: string;
  patch: Record<string, unknown>;
  precondition: boolean;
}

/**
 * PVCs and PVs with resourceVersions. Writes apply the merge patch the real adapter would send,
 * bump the resourceVersion and, with `deliver`, pass the result to the informers.
 */
export class InMemoryResizerApi implements ResizerApi {
  readonly claims = new Map<string, PersistentVolumeClaim>();
  readonly volumes = new Map<string, PersistentVolume>();
  readonly secrets = new Map<string, Secret>();
  readonly writes: RecordedWrite[] = [];
  /** Fails the next writes of this kind with the given error. */
  readonly failures: { kind: RecordedWrite['kind']; error: Error }[] = [];
  #rv = 100;
  claimInformer: FakeInformer<PersistentVolumeClaim> | undefined;
  volumeInformer: FakeInformer<PersistentVolume> | undefined;
  /** Deliver writes to the informers at once (true) or hold them back (false: a lagging watch). */
  deliver = true;

  addClaim(pvc: PersistentVolumeClaim): PersistentVolumeClaim {
    const stored = this.#stamp(pvc);
    this.claims.set(keyOf(stored), stored);
    if (this.deliver) this.claimInformer?.set(stored);
    return stored;
  }

  addVolume(pv: PersistentVolume): PersistentVolume {
    const stored = this.#stamp(pv);
    this.volumes.set(keyOf(stored), stored);
    if (this.deliver) this.volumeInformer?.set(stored);
    return stored;
  }

  /** A change by someone else (the user, kubelet): stored and delivered. */
  editClaim(key: string, edit: (pvc: PersistentVolumeClaim) => void): PersistentVolumeClaim {
    const cur = structuredClone(this.claims.get(key));
    if (!cur) throw new Error(`no claim ${key}`);
    edit(cur);
    const stored = this.#stamp(cur);
    this.claims.set(key, stored);
    this.claimInformer?.set(stored);
    return stored;
  }

  editVolume(name: string, edit: (pv: PersistentVolume) => void): PersistentVolume {
    const cur = structuredClone(this.volumes.get(name));
    if (!cur) throw new Error(`no volume ${name}`);
    edit(cur);
    const stored = this.#stamp(cur);
    this.volumes.set(name, stored);
    this.volumeInformer?.set(stored);
    return stored;
  }

  claim(key: string): PersistentVolumeClaim {
    const c = this.claims.get(key);
    if (!c) throw new Error(`no claim ${key}`);
    return c;
  }

  volume(name: string): PersistentVolume {
    const v = this.volumes.get(name);
    if (!v) throw new Error(`no volume ${name}`);
    return v;
  }

  async updateClaimStatus(claim: PersistentVolumeClaim, mutate: ClaimMutation, opts: ClaimStatusWriteOptions): Promise<PersistentVolumeClaim> {
    this.#maybeFail('pvc-status');
    const key = keyOf(claim);
    let base = claim;
    const current = this.claim(key);
    if (current.metadata?.resourceVersion !== claim.metadata?.resourceVersion) {
      if (opts.precondition) throw new KubeApiError(409, 'Conflict', `Operation cannot be fulfilled on persistentvolumeclaims "${claim.metadata?.name}": the object has been modified`);
      base = current;
    }
    const next = mutate(base);
    const patch = createMergePatch(base, next);
    if (isEmptyPatch(patch)) return base;
    this.writes.push({ kind: 'pvc-status', name: key, patch, precondition: opts.precondition });
    const applied = applyMergePatch(current, patch) as PersistentVolumeClaim;
    // The status subresource keeps only status and metadata changes.
    applied.spec = structuredClone(current.spec);
    const stored = this.#stamp(applied);
    this.claims.set(key, stored);
    if (this.deliver) this.claimInformer?.set(stored);
    return stored;
  }

  async patchVolume(volume: PersistentVolume, next: PersistentVolume): Promise<PersistentVolume> {
    this.#maybeFail('pv');
    const name = volume.metadata?.name ?? '';
    const patch = createMergePatch(volume, next);
    if (isEmptyPatch(patch)) return volume;
    this.writes.push({ kind: 'pv', name, patch, precondition: false });
    const stored = this.#stamp(applyMergePatch(this.volume(name), patch) as PersistentVolume);
    this.volumes.set(name, stored);
    if (this.deliver) this.volumeInformer?.set(stored);
    return stored;
  }

  async getSecret(namespace: string, name: string): Promise<Secret> {
    const s = this.secrets.get(`${namespace}/${name}`);
    if (!s) throw new KubeApiError(404, 'NotFound', `secrets "${name}" not found`);
    return s;
  }

  writesOf(kind: RecordedWrite['kind']): RecordedWrite[] {
    return this.writes.filter((w) => w.kind === kind);
  }

  #maybeFail(kind: RecordedWrite['kind']): void {
    const i = this.failures.findIndex((f) => f.kind === kind);
    if (i >= 0) {
      const [f] = this.failures.splice(i, 1);
      throw f!.error;
    }
  }

  #stamp<T extends KubeObject>(obj: T): T {
    const copy = structuredClone(obj);
    copy.metadata = { ...copy.metadata, resourceVersion: String(++this.#rv) };
    return copy;
  }
}

/** A resizer whose answers the test scripts, recording the sizes it was asked for. */
export class ScriptedResizer implements VolumeResizer {
  readonly calls: { volume: string; size: string }[] = [];
  readonly driverName: string;
  readonly controllerExpansion: boolean;
  /** Next answers, in order; when empty: success with the requested size. */
  readonly script: (Error | Partial<ExpandResult> | ((size: Quantity) => ExpandResult))[] = [];
  nodeExpansionRequired = false;

  constructor(driverName: string, controllerExpansion = true) {
    this.driverName = driverName;
    this.controllerExpansion = controllerExpansion;
  }

  canSupport(pv: PersistentVolume, pvc: PersistentVolumeClaim) {
    return driverServesVolume(this.driverName, pv, pvc);
  }

  async resize(pv: PersistentVolume, size: Quantity): Promise<ExpandResult> {
    this.calls.push({ volume: pv.metadata?.name ?? '', size: size.toString() });
    const next = this.script.shift();
    if (next instanceof Error) throw next;
    if (typeof next === 'function') return next(size);
    return { size: next?.size ?? size, nodeExpansionRequired: next?.nodeExpansionRequired ?? this.nodeExpansionRequired };
  }
}

export const TEST_DRIVER = 'test.csi.example.com';

/** A bound PVC + PV pair for driver `driver`, sizes as quantity strings. */
export function boundPair(opts: {
  name?: string;
  namespace?: string;
  uid?: string;
  request: string;
  capacity: string;
  pvCapacity?: string;
  driver?: string;
  volumeHandle?: string;
}): { pvc: PersistentVolumeClaim; pv: PersistentVolume } {
  const name = opts.name ?? 'claim';
  const namespace = opts.namespace ?? 'ns';
  const uid = opts.uid ?? `uid-${name}`;
  const pvName = `pv-${name}`;
  const pvc: PersistentVolumeClaim = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace, uid, resourceVersion: '1' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: opts.request } }, volumeName: pvName },
    status: { phase: 'Bound', capacity: { storage: opts.capacity } },
  };
  const pv: PersistentVolume = {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: pvName, uid: `uid-${pvName}`, resourceVersion: '1' },
    spec: {
      accessModes: ['ReadWriteOnce'],
      capacity: { storage: opts.pvCapacity ?? opts.capacity },
      claimRef: { kind: 'PersistentVolumeClaim', namespace, name, uid },
      csi: { driver: opts.driver ?? TEST_DRIVER, volumeHandle: opts.volumeHandle ?? `vol-${name}` },
    },
  };
  return { pvc, pv };
}

export function q(text: string): Quantity {
  return parseQuantity(text);
}
