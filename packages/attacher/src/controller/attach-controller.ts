// The attacher's controller: informer events → work queues → workers → the attach handler.
//   - VolumeAttachments of our driver go to the attach or detach lane (see va-lanes.ts);
//     updates that only carry our own error writes are dropped (they would defeat backoff).
//   - A deleted VA queues its PV on `csi-attacher-pv`, to release the PV finalizer; PV events
//     are queued only for PVs with our finalizer that are being deleted or rolled back.
//   - Every --reconcile-sync the handler's ListVolumes reconciler runs (when it has one).
// Handlers only enqueue names; workers read the current object from the cache.

import type { CSINode, Clock, Disposable, Informer, Logger, PersistentVolume, VolumeAttachment, WorkQueueMetricsProvider, WorkResult } from '@csi-sidecars-ts/shared';
import { DisposableStore, RateLimitingQueue, deletedObject, runWorkers, sidecarRateLimiter } from '@csi-sidecars-ts/shared';
import type { MigrationTranslator } from '@csi-sidecars-ts/shared';
import { shouldEnqueuePv, shouldEnqueueVaUpdate } from './event-filters.js';
import type { AttachHandler } from './handler.js';
import { VA_BY_PV_INDEX, vaByPvIndex } from './caches.js';
import { PV_QUEUE_NAME, attacherFinalizer } from './names.js';
import type { Lane } from './va-lanes.js';
import { VaLanes } from './va-lanes.js';

export interface AttachControllerInformers {
  volumeAttachments: Informer<VolumeAttachment>;
  persistentVolumes: Informer<PersistentVolume>;
  csiNodes: Informer<CSINode>;
}

export interface AttachControllerOptions {
  driver: string;
  handler: AttachHandler;
  informers: AttachControllerInformers;
  translator: MigrationTranslator;
  clock: Clock;
  logger: Logger;
  queueMetrics?: WorkQueueMetricsProvider;
  retryIntervalStartMs: number;
  retryIntervalMaxMs: number;
  /** Workers per lane and for the PV queue. */
  workers: Readonly<Record<Lane | 'pv', number>>;
  /** Informer resync (re-delivery of every cached object); 0 = off. */
  resyncMs: number;
  /** Period of the ListVolumes reconciler; undefined = no reconciler. */
  reconcileSyncMs: number | undefined;
}

export class AttachController implements Disposable {
  readonly lanes: VaLanes;
  readonly pvQueue: RateLimitingQueue<string>;
  readonly #o: AttachControllerOptions;
  readonly #log: Logger;
  readonly #owned = new DisposableStore();
  #running: Promise<void> | undefined;
  readonly #stop = new AbortController();
  readonly #finalizer: string;

  constructor(options: AttachControllerOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.#finalizer = attacherFinalizer(options.driver);
    const vaStore = options.informers.volumeAttachments.store;
    if (!vaStore.hasIndexer(VA_BY_PV_INDEX)) vaStore.addIndexer(VA_BY_PV_INDEX, vaByPvIndex);
    this.lanes = new VaLanes({
      clock: options.clock,
      metrics: options.queueMetrics,
      rateLimiter: () => sidecarRateLimiter(options.retryIntervalStartMs, options.retryIntervalMaxMs),
      laneOf: (name) => (vaStore.getByName(undefined, name)?.metadata?.deletionTimestamp ? 'detach' : 'attach'),
      logger: options.logger,
    });
    this.pvQueue = new RateLimitingQueue<string>({
      name: PV_QUEUE_NAME,
      clock: options.clock,
      metrics: options.queueMetrics,
      rateLimiter: sidecarRateLimiter(options.retryIntervalStartMs, options.retryIntervalMaxMs),
    });
    this.#owned.add(this.lanes);
    this.#owned.add(this.pvQueue);
  }

  /** Queues a VA by name (the reconciler uses it for force-syncs). */
  enqueueVa(name: string): void {
    this.lanes.enqueue(name);
  }

  /**
   * Registers the event handlers, waits for the caches, then runs the workers and the
   * reconciler until dispose(). Resolves once the caches have synced and the workers run.
   */
  async start(): Promise<void> {
    if (this.#running) throw new Error('attach controller already started');
    const { informers, driver, resyncMs } = this.#o;
    const signal = this.#stop.signal;
    this.#owned.add(
      informers.volumeAttachments.addEventHandler(
        {
          onAdd: (va) => this.#vaChanged(va),
          onUpdate: (oldVa, newVa) => {
            if (newVa.spec?.attacher !== driver) return;
            if (shouldEnqueueVaUpdate(oldVa, newVa, this.#finalizer)) this.lanes.enqueue(newVa.metadata?.name ?? '');
            else this.#log.v(3).info('Ignoring VolumeAttachment change', { VolumeAttachment: newVa.metadata?.name });
          },
          onDelete: (obj) => this.#vaDeleted(deletedObject(obj)),
        },
        { resyncPeriodMs: resyncMs, name: 'csi-attacher-va' },
      ),
    );
    this.#owned.add(
      informers.persistentVolumes.addEventHandler(
        {
          onAdd: (pv, initial) => {
            this.#pvChanged(pv);
            if (!initial) this.#pvArrived(pv);
          },
          onUpdate: (_old, pv) => this.#pvChanged(pv),
        },
        { resyncPeriodMs: resyncMs, name: 'csi-attacher-pv' },
      ),
    );

    await Promise.all([
      informers.volumeAttachments.waitForSync(signal),
      informers.persistentVolumes.waitForSync(signal),
      informers.csiNodes.waitForSync(signal),
    ]);
    this.#log.info('Starting CSI attacher');
    this.#running = Promise.all([this.#runVaWorkers(signal), this.#runPvWorkers(signal), this.#runReconciler(signal)]).then(() => {
      this.#log.info('Shutting down CSI attacher');
    });
  }

  /** Stops taking work, lets in-flight work finish, then shuts the queues down. */
  async dispose(): Promise<void> {
    this.#stop.abort(new Error('attach controller stopped'));
    await this.#running;
    await this.#owned.dispose();
  }

  #vaChanged(va: VolumeAttachment): void {
    if (va.spec?.attacher !== this.#o.driver) return;
    const name = va.metadata?.name;
    if (name) this.lanes.enqueue(name);
  }

  #vaDeleted(va: VolumeAttachment): void {
    const name = va.metadata?.name;
    if (name && va.spec?.attacher === this.#o.driver) this.#o.handler.forget?.(name);
    // Whatever the driver: the PV may now be free of attachments (its finalizer can go).
    const pv = va.spec?.source?.persistentVolumeName;
    if (pv) this.pvQueue.add(pv);
  }

  #pvChanged(pv: PersistentVolume): void {
    const name = pv.metadata?.name;
    if (name && shouldEnqueuePv(pv, this.#o.driver, this.#o.translator)) this.pvQueue.add(name);
  }

  /**
   * A PV showed up after VolumeAttachments that use it (the two informers race, and a VA may be
   * created before its PV reaches our cache): retry those attaches now instead of after backoff.
   */
  #pvArrived(pv: PersistentVolume): void {
    const name = pv.metadata?.name;
    if (!name) return;
    for (const va of this.#o.informers.volumeAttachments.store.byIndex(VA_BY_PV_INDEX, name)) {
      if (va.spec?.attacher !== this.#o.driver || va.metadata?.deletionTimestamp || va.status?.attached) continue;
      if (va.metadata?.name) this.lanes.enqueue(va.metadata.name);
    }
  }

  #runVaWorkers(signal: AbortSignal): Promise<void> {
    const store = this.#o.informers.volumeAttachments.store;
    const { workers } = this.#o;
    return this.lanes.run(
      { attach: workers.attach, detach: workers.detach },
      async (name) => {
        const va = store.getByName(undefined, name);
        if (!va) {
          this.#log.v(3).info('VolumeAttachment was deleted, ignoring', { VolumeAttachment: name });
          return 'skip';
        }
        if (va.spec?.attacher !== this.#o.driver) {
          this.#log.v(4).info('Skipping VolumeAttachment for attacher', { VolumeAttachment: name, attacher: va.spec?.attacher });
          return 'skip';
        }
        return this.#o.handler.syncVolumeAttachment(va);
      },
      signal,
    );
  }

  #runPvWorkers(signal: AbortSignal): Promise<void> {
    const store = this.#o.informers.persistentVolumes.store;
    return runWorkers(
      this.pvQueue,
      this.#o.workers.pv,
      async (name): Promise<WorkResult> => {
        const pv = store.getByName(undefined, name);
        if (!pv) {
          this.#log.v(3).info('PersistentVolume was deleted, ignoring', { PersistentVolume: name });
          return undefined;
        }
        return (await this.#o.handler.syncPersistentVolume(pv)) === 'retry' ? { requeue: 'rateLimited' } : undefined;
      },
      signal,
      { logger: this.#log },
    );
  }

  /** Runs a pass at once, then one every period after the previous pass ended. */
  async #runReconciler(signal: AbortSignal): Promise<void> {
    const period = this.#o.reconcileSyncMs;
    const reconcile = this.#o.handler.reconcile?.bind(this.#o.handler);
    if (!reconcile || period === undefined) return;
    while (!signal.aborted) {
      try {
        await reconcile();
      } catch (err) {
        this.#log.error('Failed to reconcile VolumeAttachment', err);
      }
      try {
        await this.#o.clock.sleep(period, signal);
      } catch {
        return;
      }
    }
  }
}
