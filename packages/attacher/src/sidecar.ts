// startAttacher: the csi-attacher controllers, given a connected CSI driver and a Kubernetes
// client. Process concerns (flags, the CSI connection, leader election, the HTTP endpoint) stay
// with the caller; this picks the handler from the driver's capabilities, builds the informers,
// queues and workers, and returns once the caches have synced and the workers run.

import type {
  CSINode,
  Clock,
  ControllerCapabilityName,
  ControllerClient,
  Disposable,
  InformerFactory,
  KubeRequester,
  Logger,
  PersistentVolume,
  PluginServiceCapabilityName,
  VolumeAttachment,
} from '@csi-sidecars-ts/shared';
import { CSI_NODES, PERSISTENT_VOLUMES, VOLUME_ATTACHMENTS, discardLogger, realClock, workQueueMetrics } from '@csi-sidecars-ts/shared';
import type { Registry } from 'prom-client';
import { KubeAttacherApi } from './adapters/attacher-api.js';
import type { AttacherApi } from './adapters/attacher-api.js';
import { CsiAttacher } from './adapters/attacher-csi.js';
import { AttachController } from './controller/attach-controller.js';
import type { AttacherMetrics } from './controller/attacher-metrics.js';
import { UncertainAttachments, noAttacherMetrics, pendingFromCache, registerAttacherMetrics } from './controller/attacher-metrics.js';
import { VA_BY_PV_INDEX, trimCsiNode, trimPersistentVolume, trimVolumeAttachment, vaByPvIndex } from './controller/caches.js';
import type { AttacherCaches } from './controller/caches.js';
import { CsiAttachHandler } from './controller/csi-handler.js';
import type { AttachHandler } from './controller/handler.js';
import { attacherFinalizer } from './controller/names.js';
import { TrivialAttachHandler } from './controller/trivial-handler.js';
import type { Lane } from './controller/va-lanes.js';
import type { MigrationTranslator } from '@csi-sidecars-ts/shared';
import { createMigrationTranslator } from '@csi-sidecars-ts/shared';

export interface AttacherDeps {
  /** Kubernetes client (a KubeClient) for the attacher's writes and Secret reads. */
  kube: KubeRequester;
  /** Informers for VolumeAttachments, PersistentVolumes and CSINodes come from here; started by startAttacher. */
  informerFactory: InformerFactory;
  /** The driver's controller service. */
  controller: ControllerClient;
  /** From GetPluginInfo. */
  driverName: string;
  /** From GetPluginCapabilities. */
  pluginCapabilities: ReadonlySet<PluginServiceCapabilityName>;
  /** From ControllerGetCapabilities (empty when the driver has no controller service). */
  controllerCapabilities: ReadonlySet<ControllerCapabilityName>;
  /** Where the workqueue and attacher metrics go; none when omitted. */
  registry?: Registry;
  clock?: Clock;
  logger?: Logger;
  /** Aborting it before startAttacher resolves gives up waiting for the caches (it then rejects). */
  signal?: AbortSignal;
  /** Tests: a replacement for the API adapter. */
  api?: AttacherApi;
  translator?: MigrationTranslator;
}

/** The flag values the controllers use (the names match the cmd's parsed options). */
export interface AttacherRunOptions {
  /** --timeout: each ControllerPublish/Unpublish, and one whole ListVolumes pass. */
  timeoutMs: number;
  retryIntervalStartMs: number;
  retryIntervalMaxMs: number;
  /** --worker-threads: workers of the attach lane, and of the PV queue. */
  workerThreads: number;
  /** Workers of the detach lane; default --worker-threads. */
  detachWorkerThreads?: number;
  /** --max-entries */
  maxEntries: number;
  /** --default-fstype */
  defaultFstype: string;
  /** --reconcile-sync */
  reconcileSyncMs: number;
  /** --resync */
  resyncMs: number;
  /** --feature-gates (MutableCSINodeAllocatableCount is read); default: every gate at its default. */
  featureGates?: { enabled(name: string): boolean };
  /** Drop managedFields from cached objects (default true); turn off if another controller shares the informers with a different transform. */
  trimCaches?: boolean;
}

export type AttachHandlerKind = 'csi' | 'trivial';

export interface AttacherHandle extends Disposable {
  /** Which handler the driver's capabilities selected. */
  readonly handlerKind: AttachHandlerKind;
  /** Whether the ListVolumes reconciler runs. */
  readonly reconciling: boolean;
  readonly controller: AttachController;
  /** The informer caches the controller reads (diagnostics, tests). */
  readonly caches: AttacherCaches;
}

/** CSI handler only for drivers with CONTROLLER_SERVICE and PUBLISH_UNPUBLISH_VOLUME. */
export function selectHandlerKind(
  plugin: ReadonlySet<PluginServiceCapabilityName>,
  controller: ReadonlySet<ControllerCapabilityName>,
): AttachHandlerKind {
  return plugin.has('CONTROLLER_SERVICE') && controller.has('PUBLISH_UNPUBLISH_VOLUME') ? 'csi' : 'trivial';
}

function validate(o: AttacherRunOptions): void {
  const positiveInt = (name: string, v: number | undefined) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new RangeError(`${name} must be an integer >= 1, got ${v}`);
  };
  positiveInt('--worker-threads', o.workerThreads);
  positiveInt('detach worker threads', o.detachWorkerThreads);
  if (!(o.timeoutMs > 0)) throw new RangeError(`--timeout must be positive, got ${o.timeoutMs} ms`);
  if (!(o.reconcileSyncMs > 0)) throw new RangeError(`--reconcile-sync must be positive, got ${o.reconcileSyncMs} ms`);
  if (!(o.maxEntries >= 0)) throw new RangeError(`--max-entries must not be negative, got ${o.maxEntries}`);
}

export async function startAttacher(deps: AttacherDeps, options: AttacherRunOptions): Promise<AttacherHandle> {
  validate(options);
  const clock = deps.clock ?? realClock;
  const logger = (deps.logger ?? discardLogger).withValues({ driver: deps.driverName });
  const driver = deps.driverName;
  const translator = deps.translator ?? createMigrationTranslator();
  const api = deps.api ?? new KubeAttacherApi(deps.kube);
  const factory = deps.informerFactory;

  const trim = options.trimCaches ?? true;
  const informers = {
    volumeAttachments: factory.informerFor<VolumeAttachment>(VOLUME_ATTACHMENTS, {
      ...(trim ? { transform: trimVolumeAttachment } : {}),
      indexers: { [VA_BY_PV_INDEX]: vaByPvIndex },
    }),
    persistentVolumes: factory.informerFor<PersistentVolume>(PERSISTENT_VOLUMES, trim ? { transform: trimPersistentVolume } : {}),
    csiNodes: factory.informerFor<CSINode>(CSI_NODES, trim ? { transform: trimCsiNode } : {}),
  };
  const caches = {
    volumeAttachments: informers.volumeAttachments.store,
    persistentVolumes: informers.persistentVolumes.store,
    csiNodes: informers.csiNodes.store,
  };

  const kind = selectHandlerKind(deps.pluginCapabilities, deps.controllerCapabilities);
  const caps = deps.controllerCapabilities;
  const reconciling = kind === 'csi' && caps.has('LIST_VOLUMES') && caps.has('LIST_VOLUMES_PUBLISHED_NODES');
  const uncertain = new UncertainAttachments();
  const metrics: AttacherMetrics = deps.registry
    ? registerAttacherMetrics(deps.registry, clock, pendingFromCache(caches.volumeAttachments, driver, attacherFinalizer(driver), kind === 'trivial'), uncertain)
    : noAttacherMetrics;

  // The controller exists before the handler (the handler's force-sync enqueues through it).
  let controller: AttachController | undefined;
  let handler: AttachHandler;
  if (kind === 'csi') {
    handler = new CsiAttachHandler({
      driver,
      api,
      csi: new CsiAttacher({ controller: deps.controller, timeoutMs: options.timeoutMs, maxEntries: options.maxEntries, clock }),
      caches,
      translator,
      clock,
      logger,
      capabilities: { publishReadonly: caps.has('PUBLISH_READONLY'), singleNodeMultiWriter: caps.has('SINGLE_NODE_MULTI_WRITER') },
      defaultFsType: options.defaultFstype,
      saveErrorCode: options.featureGates?.enabled('MutableCSINodeAllocatableCount') ?? true,
      enqueueVa: (name) => controller?.enqueueVa(name),
      metrics,
      uncertain,
    });
    logger.v(2).info('CSI driver supports ControllerPublishUnpublish, using real CSI handler');
  } else {
    handler = new TrivialAttachHandler(api, logger, metrics);
    logger.v(2).info('CSI driver does not support ControllerPublishUnpublish, using trivial handler');
  }
  if (reconciling) {
    logger.v(2).info('CSI driver supports list volumes published nodes. Using capability to reconcile volume attachment objects with actual backend state');
  }

  const workers: Record<Lane | 'pv', number> = {
    attach: options.workerThreads,
    detach: options.detachWorkerThreads ?? options.workerThreads,
    pv: options.workerThreads,
  };
  controller = new AttachController({
    driver,
    handler,
    informers,
    translator,
    clock,
    logger,
    ...(deps.registry ? { queueMetrics: workQueueMetrics(deps.registry) } : {}),
    retryIntervalStartMs: options.retryIntervalStartMs,
    retryIntervalMaxMs: options.retryIntervalMaxMs,
    workers,
    resyncMs: options.resyncMs,
    reconcileSyncMs: reconciling ? options.reconcileSyncMs : undefined,
  });

  const started = controller;
  const giveUp = () => void started.dispose();
  deps.signal?.addEventListener('abort', giveUp, { once: true });
  factory.start();
  try {
    if (deps.signal?.aborted) throw deps.signal.reason;
    await started.start();
  } catch (err) {
    await started.dispose();
    throw err;
  } finally {
    deps.signal?.removeEventListener('abort', giveUp);
  }
  return {
    handlerKind: kind,
    reconciling,
    controller: started,
    caches,
    dispose: () => started.dispose(),
  };
}
