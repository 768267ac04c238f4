// Storage capacity tracking (--enable-capacity): one CSIStorageCapacity object per (topology
// segment, StorageClass of our driver with WaitForFirstConsumer binding — or any binding with
// --capacity-for-immediate-binding), holding what GetCapacity reports for that segment, so the
// scheduler only picks nodes with room. Objects are refreshed every --capacity-poll-interval,
// when StorageClasses or nodes change, and after volumes were created or deleted; objects that
// no longer match a segment and StorageClass (or duplicate another) are deleted.

import {
  CSI_STORAGE_CAPACITIES,
  RateLimitingQueue,
  bytesToQuantity,
  createObject,
  deleteObject,
  isNotFound,
  parseQuantity,
  runWorkers,
  sidecarRateLimiter,
  updateObject,
} from '@csi-sidecars-ts/shared';
import type {
  CSIStorageCapacity,
  Clock,
  ControllerClient,
  Disposable,
  Informer,
  KubeObject,
  KubeRequester,
  Logger,
  ResourceDescriptor,
  StorageClass,
  WorkQueueMetricsProvider,
  WorkResult,
} from '@csi-sidecars-ts/shared';
import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { stripReservedParameters } from '../controller/parameters.js';
import type { OwnerReference } from './owner.js';
import type { Segment } from './segments.js';
import { segmentKey, segmentLabels, segmentSelector, termSegment } from './segments.js';

export const CAPACITY_QUEUE = 'csistoragecapacity';
export const DRIVER_NAME_LABEL = 'csi.storage.k8s.io/drivername';
export const MANAGED_BY_LABEL = 'csi.storage.k8s.io/managed-by';
export const MANAGED_BY = 'external-provisioner';

/** FNV-1a 32-bit as 8 hex digits (Go's hash/fnv New32a). */
function fnv1a32hex(s: string): string {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) {
    h = (h ^ b) >>> 0;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** `<base>-<suffix>`, shortened with a hash to at most maxLength characters (Go's getNameWithMaxLength). */
export function nameWithMaxLength(base: string, suffix: string, maxLength: number): string {
  const name = base ? `${base}-${suffix}` : suffix;
  if (name.length <= maxLength) return name;
  const baseLength = maxLength - 10 - suffix.length;
  if (baseLength <= 0) {
    const prefix = base.slice(0, Math.min(base.length, Math.max(0, maxLength - 9)));
    const short = prefix ? `${prefix}-${fnv1a32hex(name)}` : fnv1a32hex(name);
    return short.slice(0, Math.min(maxLength, short.length));
  }
  return `${base.slice(0, baseLength)}-${fnv1a32hex(base)}-${suffix}`;
}

/** The managed-by label value: per node in node-deployment mode. */
export function managedById(nodeName?: string): string {
  return nodeName ? nameWithMaxLength(MANAGED_BY, nodeName, 63) : MANAGED_BY;
}

/** Where segments come from: the cluster's nodes, or one fixed segment in node mode. */
export interface SegmentSource {
  list(): readonly Segment[];
  /** Calls back whenever the set may have changed; returns an unsubscribe handle. */
  onChange(cb: () => void): Disposable;
}

export interface CapacityControllerOptions {
  driverName: string;
  namespace: string;
  managedBy: string;
  owner?: OwnerReference;
  pollIntervalMs: number;
  immediateBinding: boolean;
  timeoutMs: number;
  workers: number;
  retryIntervalStartMs: number;
  retryIntervalMaxMs: number;
}

export interface CapacityControllerDeps {
  /** The client for CSIStorageCapacity writes (--kube-api-capacity-qps/-burst). */
  client: KubeRequester;
  csi: Pick<ControllerClient, 'getCapacity'>;
  classes: Informer<StorageClass>;
  /** CSIStorageCapacity objects in our namespace carrying our driver/managed-by labels. */
  capacities: Informer<CSIStorageCapacity>;
  /** The API version to write (see detectCapacityApi); default storage.k8s.io/v1. */
  resource?: ResourceDescriptor;
  segments: SegmentSource;
  clock: Clock;
  logger: Logger;
  queueMetrics?: WorkQueueMetricsProvider;
  registry?: Registry;
}

interface Item {
  key: string;
  segment: Segment;
  storageClassName: string;
  object: CSIStorageCapacity | undefined;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  const kb = Object.keys(b ?? {});
  return ka.length === kb.length && ka.every((k) => a![k] === b?.[k]);
}

function quantityValue(q: string | undefined): bigint | undefined {
  if (q === undefined) return undefined;
  try {
    return parseQuantity(String(q)).value();
  } catch {
    return undefined;
  }
}

/** Label selector for the capacity informer. */
export function capacitySelector(driverName: string, managedBy: string): string {
  return `${DRIVER_NAME_LABEL}=${driverName},${MANAGED_BY_LABEL}=${managedBy}`;
}

export class CapacityController implements Disposable {
  readonly queue: RateLimitingQueue<string>;
  readonly #deps: CapacityControllerDeps;
  readonly #opts: CapacityControllerOptions;
  readonly #log: Logger;
  readonly #resource: ResourceDescriptor;
  readonly #items = new Map<string, Item>();
  /** Objects to delete, by name (queue key `delete:<name>`). */
  readonly #doomed = new Map<string, CSIStorageCapacity>();
  readonly #handles: Disposable[] = [];
  #pollTimer: ReturnType<Clock['setTimeout']> | undefined;
  #stopped = false;

  constructor(deps: CapacityControllerDeps, opts: CapacityControllerOptions) {
    this.#deps = deps;
    this.#opts = opts;
    this.#log = deps.logger.withName('capacity');
    this.#resource = deps.resource ?? CSI_STORAGE_CAPACITIES;
    this.queue = new RateLimitingQueue<string>({
      name: CAPACITY_QUEUE,
      clock: deps.clock,
      metrics: deps.queueMetrics,
      rateLimiter: sidecarRateLimiter(opts.retryIntervalStartMs, opts.retryIntervalMaxMs),
    });
    if (deps.registry) this.#registerMetrics(deps.registry);
  }

  /** (segment, StorageClass) pairs to maintain. */
  get goal(): number {
    return this.#items.size;
  }

  /** Pairs that have their object. */
  get current(): number {
    let n = 0;
    for (const i of this.#items.values()) if (i.object) n++;
    return n;
  }

  run(signal: AbortSignal): Promise<void> {
    const d = this.#deps;
    this.#handles.push(
      d.classes.addEventHandler({
        onAdd: () => this.#recompute(),
        onUpdate: () => this.#recompute(),
        onDelete: () => this.#recompute(),
      }),
      d.segments.onChange(() => this.#recompute()),
    );
    this.#recompute();
    this.#handles.push(
      d.capacities.addEventHandler({
        onAdd: (c) => this.#onCapacity(c),
        onUpdate: (_o, c) => this.#onCapacity(c),
        onDelete: (c) => this.#onCapacityDeleted('tombstone' in c ? c.lastKnown : c),
      }),
    );
    this.#schedulePoll();
    return runWorkers(this.queue, this.#opts.workers, (key, sig) => this.#sync(key, sig), signal, { logger: this.#log });
  }

  dispose(): void {
    this.#stopped = true;
    if (this.#pollTimer !== undefined) this.#deps.clock.clearTimeout(this.#pollTimer);
    for (const h of this.#handles) void h.dispose();
    this.queue.shutDown();
  }

  /** After a volume was created or deleted with this node affinity: refresh the segments it touches. */
  refreshForNodeAffinity(affinity: { required?: { nodeSelectorTerms?: { matchExpressions?: { key: string; operator: string; values?: string[] }[] }[] } } | undefined): void {
    for (const term of affinity?.required?.nodeSelectorTerms ?? []) {
      const seg = termSegment(term);
      if (!seg) continue;
      const key = segmentKey(seg);
      for (const item of this.#items.values()) if (segmentKey(item.segment) === key) this.queue.add(item.key);
    }
  }

  /** After provisioning for (or failing in) a StorageClass: refresh its objects. */
  refreshStorageClass(name: string): void {
    for (const item of this.#items.values()) if (item.storageClassName === name) this.queue.add(item.key);
  }

  #wanted(sc: StorageClass): boolean {
    if (sc.provisioner !== this.#opts.driverName) return false;
    return this.#opts.immediateBinding || sc.volumeBindingMode !== 'Immediate';
  }

  /** Reconciles the set of items with the current StorageClasses and segments. */
  #recompute(): void {
    if (this.#stopped) return;
    const segments = this.#deps.segments.list();
    const wanted = new Map<string, { segment: Segment; sc: string }>();
    for (const sc of this.#deps.classes.store.list()) {
      if (!this.#wanted(sc)) continue;
      const name = sc.metadata?.name ?? '';
      for (const segment of segments) wanted.set(`${name}|${segmentKey(segment)}`, { segment, sc: name });
    }
    for (const [key, item] of this.#items) {
      if (wanted.has(key)) continue;
      this.#items.delete(key);
      if (item.object) this.#doom(item.object);
    }
    for (const [key, w] of wanted) {
      if (this.#items.has(key)) continue;
      const item: Item = { key, segment: w.segment, storageClassName: w.sc, object: undefined };
      // Adopt an existing object for the pair (after a restart).
      item.object = this.#deps.capacities.store.list().find((c) => this.#matches(item, c) && this.#isManaged(c) && !this.#claimed(c));
      this.#items.set(key, item);
      this.queue.add(key);
    }
    // Objects that match nothing any more (and duplicates).
    for (const c of this.#deps.capacities.store.list()) {
      if (this.#isManaged(c) && !this.#claimed(c)) this.#doom(c);
    }
  }

  #matches(item: Item, c: CSIStorageCapacity): boolean {
    return c.storageClassName === item.storageClassName && sameLabels(c.nodeTopology?.matchLabels, segmentLabels(item.segment)) && (c.nodeTopology?.matchExpressions ?? []).length === 0;
  }

  #isManaged(c: CSIStorageCapacity): boolean {
    const l = c.metadata?.labels ?? {};
    return l[DRIVER_NAME_LABEL] === this.#opts.driverName && l[MANAGED_BY_LABEL] === this.#opts.managedBy;
  }

  #claimed(c: CSIStorageCapacity): boolean {
    for (const item of this.#items.values()) if (item.object?.metadata?.uid === c.metadata?.uid) return true;
    return false;
  }

  #doom(c: CSIStorageCapacity): void {
    const name = c.metadata?.name;
    if (!name) return;
    this.#doomed.set(name, c);
    this.queue.add(`delete:${name}`);
  }

  #onCapacity(c: CSIStorageCapacity): void {
    const uid = c.metadata?.uid;
    for (const item of this.#items.values()) {
      if (item.object?.metadata?.uid !== uid) continue;
      if (!this.#isManaged(c)) {
        // Someone took our labels away: make a new object.
        item.object = undefined;
        this.queue.add(item.key);
      } else {
        item.object = c;
      }
      return;
    }
    if (!this.#isManaged(c)) return;
    for (const item of this.#items.values()) {
      if (!item.object && this.#matches(item, c)) {
        item.object = c;
        return;
      }
    }
    this.#doom(c);
  }

  #onCapacityDeleted(c: CSIStorageCapacity): void {
    this.#doomed.delete(c.metadata?.name ?? '');
    for (const item of this.#items.values()) {
      if (item.object?.metadata?.uid === c.metadata?.uid) {
        item.object = undefined;
        this.queue.add(item.key);
      }
    }
  }

  #schedulePoll(): void {
    if (this.#stopped) return;
    this.#pollTimer = this.#deps.clock.setTimeout(() => {
      for (const key of this.#items.keys()) this.queue.add(key);
      this.#schedulePoll();
    }, this.#opts.pollIntervalMs);
  }

  async #sync(key: string, signal: AbortSignal): Promise<WorkResult> {
    if (key.startsWith('delete:')) return this.#delete(key.slice('delete:'.length), signal);
    const item = this.#items.get(key);
    if (!item) return undefined;
    const sc = this.#deps.classes.store.get(item.storageClassName);
    if (!sc) return undefined;
    let parameters: Record<string, string>;
    try {
      parameters = stripReservedParameters(sc.parameters);
    } catch (err) {
      // Provisioning with this class fails anyway; report no capacity rather than guessing.
      this.#log.error('StorageClass parameters are invalid, not asking for its capacity', err, { storageClass: item.storageClassName });
      return undefined;
    }
    let available: bigint;
    let maximum: bigint | undefined;
    try {
      const res = await this.#deps.csi.getCapacity(
        { parameters, ...(item.segment.length > 0 ? { accessible_topology: { segments: segmentLabels(item.segment) } } : {}) },
        { timeoutMs: this.#opts.timeoutMs, signal },
      );
      available = res.available_capacity;
      maximum = res.maximum_volume_size ? res.maximum_volume_size.value : undefined;
    } catch (err) {
      this.#log.info('GetCapacity failed, will retry', { storageClass: item.storageClassName, segment: segmentLabels(item.segment), err: errorText(err) });
      return { requeue: 'rateLimited' };
    }
    const capacity = bytesToQuantity(available < 0n ? 0n : available);
    const maximumVolumeSize = maximum === undefined ? undefined : bytesToQuantity(maximum);
    const owner = this.#opts.owner;
    try {
      const existing = item.object;
      if (!existing) {
        const body: CSIStorageCapacity = {
          metadata: {
            generateName: 'csisc-',
            namespace: this.#opts.namespace,
            labels: { [DRIVER_NAME_LABEL]: this.#opts.driverName, [MANAGED_BY_LABEL]: this.#opts.managedBy },
            ...(owner ? { ownerReferences: [{ ...owner }] } : {}),
          },
          storageClassName: item.storageClassName,
          nodeTopology: segmentSelector(item.segment),
          capacity,
          ...(maximumVolumeSize ? { maximumVolumeSize } : {}),
        };
        item.object = await createObject(this.#deps.client, this.#resource, body as KubeObject as CSIStorageCapacity & KubeObject, { signal });
        this.#log.v(5).info('Created CSIStorageCapacity', { name: item.object.metadata?.name, storageClass: item.storageClassName, capacity });
        return undefined;
      }
      const ownedByUs = !owner || (existing.metadata?.ownerReferences ?? []).some((o) => o.controller && o.uid === owner.uid);
      if (quantityValue(existing.capacity) === available && quantityValue(existing.maximumVolumeSize) === maximum && ownedByUs) return undefined;
      const updated = structuredClone(existing);
      updated.capacity = capacity;
      if (maximumVolumeSize) updated.maximumVolumeSize = maximumVolumeSize;
      else delete updated.maximumVolumeSize;
      if (!ownedByUs && owner) updated.metadata = { ...updated.metadata, ownerReferences: [...(updated.metadata?.ownerReferences ?? []), { ...owner }] };
      item.object = await updateObject(this.#deps.client, this.#resource, updated as KubeObject as CSIStorageCapacity & KubeObject, { signal });
      return undefined;
    } catch (err) {
      if (isNotFound(err) && item.object) item.object = undefined;
      this.#log.info('Writing CSIStorageCapacity failed, will retry', { storageClass: item.storageClassName, err: errorText(err) });
      return { requeue: 'rateLimited' };
    }
  }

  async #delete(name: string, signal: AbortSignal): Promise<WorkResult> {
    const c = this.#doomed.get(name);
    if (!c) return undefined;
    // Adopted again meanwhile?
    if (this.#claimed(c)) {
      this.#doomed.delete(name);
      return undefined;
    }
    try {
      await deleteObject(this.#deps.client, this.#resource, name, c.metadata?.namespace ?? this.#opts.namespace, { signal });
    } catch (err) {
      if (!isNotFound(err)) {
        this.#log.info('Deleting obsolete CSIStorageCapacity failed, will retry', { name, err: errorText(err) });
        return { requeue: 'rateLimited' };
      }
    }
    this.#doomed.delete(name);
    return undefined;
  }

  #registerMetrics(registry: Registry): void {
    const make = (name: string, help: string, value: () => number) => {
      if (registry.getSingleMetric(name)) registry.removeSingleMetric(name);
      new Gauge({
        name,
        help: `[ALPHA] ${help}`,
        registers: [registry],
        collect() {
          this.set(value());
        },
      });
    };
    make('csistoragecapacities_desired_goal', 'Number of CSIStorageCapacity objects that are supposed to be managed automatically.', () => this.goal);
    make('csistoragecapacities_desired_current', 'Number of CSIStorageCapacity objects that exist and are supposed to be managed automatically.', () => this.current);
    make(
      'csistoragecapacities_obsolete',
      'Number of CSIStorageCapacity objects that exist and will be deleted automatically. Objects that exist and may need an update are not considered obsolete and therefore not included in this value.',
      () => this.#deps.capacities.store.list().filter((c) => this.#isManaged(c) && ![...this.#items.values()].some((i) => this.#matches(i, c))).length,
    );
  }
}
