// csi-resizer's controllers, started from explicit dependencies: the cmd layer (or a test, or a
// process hosting several sidecars) builds the clients, the CSI connection, the event recorder
// and the leader election, then calls startResizer while it leads.
//
// What runs: the resize controller (when the driver expands in the controller or only on the
// node) and the modify controller (MODIFY_VOLUME and the VolumeAttributesClass gate), sharing
// the PVC and PV informers of the factory, and — with --handle-volume-inuse-error — the lean
// pod index that feeds the offline-expansion gate.

import { trimCachedClaim, trimCachedVolume } from './cache-transform.js';
import {
  DisposableStore,
  httpListWatcher,
  PERSISTENT_VOLUME_CLAIMS,
  PERSISTENT_VOLUMES,
  PODS,
  Reflector,
  VOLUME_ATTRIBUTES_CLASSES,
  workQueueMetrics,
} from '@csi-sidecars-ts/shared';
import type {
  Clock,
  ControllerClient,
  Disposable,
  EventRecorder,
  InformerFactory,
  KubeRequester,
  ListWatchClient,
  Logger,
  NodeClient,
  PersistentVolume,
  PersistentVolumeClaim,
  VolumeAttributesClass,
} from '@csi-sidecars-ts/shared';
import type { Registry } from 'prom-client';
import { KubeResizerApi } from './api/resizer-api.js';
import type { ResizerApi } from './api/resizer-api.js';
import { ModifyController } from './controller/modify-controller.js';
import { NON_TERMINATED_PODS, PodClaimIndex } from './controller/pod-claim-index.js';
import { ResizeController } from './controller/resize-controller.js';
import { CsiModifier } from './resizer/volume-modifier.js';
import { CsiResizer, NodeOnlyResizer } from './resizer/volume-resizer.js';
import type { VolumeResizer } from './resizer/volume-resizer.js';
import type { DriverCapabilities, ResizerPlan } from './startup.js';
import { planResizer, resolveVolumeAttributesClassGate } from './startup.js';

/** How long the pod index may take to fill before we say why the resizer is not starting. */
const POD_SYNC_WARNING_MS = 30_000;

export interface ResizerSidecarDeps {
  /** API access (a KubeClient): writes, Secret reads, discovery and the pod list/watch. */
  kube: KubeRequester & ListWatchClient;
  /** Shared informer factory; the PVC, PV and VolumeAttributesClass informers come from it. */
  informers: InformerFactory;
  /** The CSI driver: its name, capabilities read at start-up and clients (a CsiConnection fits). */
  csi: {
    readonly driverName: string;
    readonly capabilities: DriverCapabilities;
    readonly controller: Pick<ControllerClient, 'controllerExpandVolume' | 'controllerModifyVolume'>;
    readonly node: Pick<NodeClient, 'nodeGetCapabilities'>;
  };
  /** Events with source component `external-resizer <driver>`. */
  events: EventRecorder;
  /** For the workqueue metrics (the CSI call metrics belong to the connection). */
  registry: Registry;
  clock: Clock;
  logger: Logger;
  /** Replaces the API adapter (tests). */
  api?: ResizerApi;
}

/** The CSI part of the deps from a started connection (driver name and capabilities read at start). */
export function csiDepsFromConnection(conn: {
  readonly info: { readonly name: string; readonly pluginCapabilities: { readonly services: DriverCapabilities['services'] }; readonly controllerCapabilities: DriverCapabilities['controller'] };
  readonly controller: ResizerSidecarDeps['csi']['controller'];
  readonly node: ResizerSidecarDeps['csi']['node'];
}): ResizerSidecarDeps['csi'] {
  return {
    driverName: conn.info.name,
    capabilities: { services: conn.info.pluginCapabilities.services, controller: conn.info.controllerCapabilities },
    controller: conn.controller,
    node: conn.node,
  };
}

export interface ResizerSidecarOptions {
  /** --workers: workers of each controller. */
  workers: number;
  /** --resync-period, ms. */
  resyncPeriodMs: number;
  /** --retry-interval-start / --retry-interval-max, ms. */
  retryIntervalStartMs: number;
  retryIntervalMaxMs: number;
  /** --handle-volume-inuse-error */
  handleVolumeInuseError: boolean;
  /** --extra-modify-metadata */
  extraModifyMetadata: boolean;
  /** --feature-gates (AnnotateFsResize, RecoverVolumeExpansionFailure, VolumeAttributesClass). */
  featureGates: { enabled(name: string): boolean; isExplicitlySet(name: string): boolean };
}

export interface ResizerSidecar extends Disposable {
  readonly plan: ResizerPlan;
  readonly resizeController: ResizeController | undefined;
  readonly modifyController: ModifyController | undefined;
  readonly podIndex: PodClaimIndex | undefined;
}

/**
 * Decides what to run (throws StartupError when the driver supports neither resize nor modify,
 * or lacks the controller service) — call it before leader election to fail fast, as Go does.
 */
export async function planResizerSidecar(deps: Pick<ResizerSidecarDeps, 'kube' | 'csi' | 'logger'>, options: Pick<ResizerSidecarOptions, 'featureGates'>): Promise<ResizerPlan> {
  const vacEnabled = await resolveVolumeAttributesClassGate(options.featureGates, deps.kube, deps.logger);
  return planResizer(deps.csi.capabilities, deps.csi.node, vacEnabled, deps.logger);
}

export async function startResizer(deps: ResizerSidecarDeps, options: ResizerSidecarOptions, plan?: ResizerPlan): Promise<ResizerSidecar> {
  const log = deps.logger;
  plan ??= await planResizerSidecar(deps, options);
  const owned = new DisposableStore();
  const stop = new AbortController();
  const driver = deps.csi.driverName;
  const api = deps.api ?? new KubeResizerApi(deps.kube, deps.clock);
  const queueMetrics = workQueueMetrics(deps.registry);
  const gates = options.featureGates;

  const claims = deps.informers.informerFor<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, { transform: trimCachedClaim });
  const volumes = deps.informers.informerFor<PersistentVolume>(PERSISTENT_VOLUMES, { transform: trimCachedVolume });

  let resizer: VolumeResizer | undefined;
  if (plan.resizer === 'controller') {
    resizer = new CsiResizer({ driverName: driver, client: deps.csi.controller, secrets: api, singleNodeMultiWriter: plan.singleNodeMultiWriter });
  } else if (plan.resizer === 'node-only') {
    resizer = new NodeOnlyResizer(driver);
  }

  let podIndex: PodClaimIndex | undefined;
  let resizeController: ResizeController | undefined;
  if (resizer) {
    if (options.handleVolumeInuseError) {
      log.info('Register Pod informer for resizer', { controller: driver });
      podIndex = new PodClaimIndex();
      const reflector = new Reflector({
        listWatcher: httpListWatcher(deps.kube, { resource: PODS, fieldSelector: NON_TERMINATED_PODS }),
        sink: podIndex,
        clock: deps.clock,
        logger: log.withName('pod-index'),
        // One streaming list instead of LIST + WATCH at start-up (falls back on servers without it).
        watchList: true,
      });
      const running = reflector.run(stop.signal).catch((err: unknown) => log.error('Pod reflector stopped', err));
      owned.defer(() => running);
      const index = podIndex;
      const timer = deps.clock.setTimeout(() => {
        if (!index.hasSynced()) {
          log.error(
            'Pods are not listed yet: the resize controller waits for them. Check that the service account may list and watch pods, or run with --handle-volume-inuse-error=false',
            undefined,
            { afterMs: POD_SYNC_WARNING_MS },
          );
        }
      }, POD_SYNC_WARNING_MS);
      owned.defer(() => deps.clock.clearTimeout(timer));
    }
    resizeController = new ResizeController(
      { resizer, api, claims, volumes, pods: podIndex, events: deps.events, clock: deps.clock, logger: log, queueMetrics },
      {
        workers: options.workers,
        resyncPeriodMs: options.resyncPeriodMs,
        retryIntervalStartMs: options.retryIntervalStartMs,
        retryIntervalMaxMs: options.retryIntervalMaxMs,
        recoverVolumeExpansionFailure: gates.enabled('RecoverVolumeExpansionFailure'),
        annotateFsResize: gates.enabled('AnnotateFsResize'),
      },
    );
  }

  let modifyController: ModifyController | undefined;
  if (plan.modifyController) {
    const classes = deps.informers.informerFor<VolumeAttributesClass>(VOLUME_ATTRIBUTES_CLASSES);
    modifyController = new ModifyController(
      {
        modifier: new CsiModifier({ driverName: driver, client: deps.csi.controller, secrets: api }),
        api,
        claims,
        volumes,
        classes,
        events: deps.events,
        clock: deps.clock,
        logger: log,
        queueMetrics,
      },
      {
        workers: options.workers,
        resyncPeriodMs: options.resyncPeriodMs,
        retryIntervalStartMs: options.retryIntervalStartMs,
        retryIntervalMaxMs: options.retryIntervalMaxMs,
        extraModifyMetadata: options.extraModifyMetadata,
      },
    );
  }

  deps.informers.start(stop.signal);
  const runs: Promise<void>[] = [];
  for (const controller of [resizeController, modifyController]) {
    if (!controller) continue;
    runs.push(controller.run(stop.signal).catch((err: unknown) => log.error('Controller stopped', err)));
  }
  // Torn down in reverse: stop taking work, let in-flight syncs finish, then drop the handlers.
  for (const controller of [resizeController, modifyController]) if (controller) owned.add(controller);
  owned.defer(() => Promise.all(runs).then(() => undefined));
  owned.defer(() => stop.abort(new Error('csi-resizer stopped')));

  return {
    plan,
    resizeController,
    modifyController,
    podIndex,
    dispose: () => owned.dispose(),
  };
}
