// csi-provisioner's controllers wired together: informers, the provisioning and deletion
// controllers, the background PV saver, cloning protection and (optionally) capacity
// tracking. The command (src/cmd) connects to the driver, elects a leader and calls
// startProvisioner; everything it needs comes in through ProvisionerSidecarDeps.

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  CSI_NODES,
  DisposableStore,
  VOLUME_SNAPSHOTS,
  isForbidden,
  isNotFound,
  resourcePath,
  KubeEventRecorder,
  LEASES,
  NODES,
  PERSISTENT_VOLUMES,
  PERSISTENT_VOLUME_CLAIMS,
  STORAGE_CLASSES,
  VOLUME_ATTACHMENTS,
  apiEventSink,
  createMigrationTranslator,
  discardLogger,
  realClock,
  toDisposable,
  workQueueMetrics,
} from '@csi-sidecars-ts/shared';
import type {
  CSINode,
  CSIStorageCapacity,
  Clock,
  ControllerCapabilityName,
  ControllerClient,
  Disposable,
  EventRecorder,
  InformerFactory,
  KubeClient,
  KubeObject,
  KubeRequester,
  Lease,
  Logger,
  MigrationTranslator,
  Node,
  NodeClient,
  PersistentVolume,
  PersistentVolumeClaim,
  PluginServiceCapabilityName,
  StorageClass,
  VolumeAttachment,
  VolumeSnapshot,
} from '@csi-sidecars-ts/shared';
import type { Registry } from 'prom-client';
import { kubeJournalApi, type JournalApi } from './adapters/journal-api.js';
import { kubeProvisionerApi, type ProvisionerApi } from './adapters/kube-api.js';
import { CapacityController, capacitySelector, managedById } from './capacity/capacity-controller.js';
import { detectCapacityApi } from './capacity/api-version.js';
import { lookupOwner } from './capacity/owner.js';
import type { OwnerReference } from './capacity/owner.js';
import { clusterSegmentSource, fixedSegmentSource } from './capacity/segment-source.js';
import { CLAIM_UID_INDEX, ClaimController, claimUidIndex } from './controller/claim-controller.js';
import { trimCachedObject } from './controller/cache-transform.js';
import { CloneProtectionController } from './controller/clone-protection-controller.js';
import { JOURNAL_CLAIM_UID_INDEX, JournalController, journalClaimUidIndex } from './controller/journal-controller.js';
import { journalSelector } from './controller/journal-entry.js';
import { inTreePluginFor, knownProvisionerNames } from './controller/migration.js';
import { ProvisioningJournal } from './controller/provisioning-journal.js';
import { noProvisionerMetrics, provisionerMetrics } from './controller/metrics.js';
import { provisionerIdentity } from './controller/names.js';
import { NodeClaimOwnership } from './controller/node-ownership.js';
import { SnapshotFinalizerSweeper } from './controller/snapshot-finalizer-sweeper.js';
import { checkReferenceGrantsListable, referenceGrantInformer } from './controller/reference-grants.js';
import { CsiProvisioner } from './controller/provisioner.js';
import type { ReferenceGrant } from './controller/data-source.js';
import { RecentlyDeletedVolumes } from './controller/recently-deleted.js';
import { TopologyCache } from './controller/topology-cache.js';
import { sameLabels, type TopologyLookup } from './controller/topology.js';
import { VolumeController } from './controller/volume-controller.js';
import { VolumeSaver } from './controller/volume-saver.js';

export interface ProvisionerCsiDeps {
  controller: Pick<ControllerClient, 'createVolume' | 'deleteVolume' | 'getCapacity'>;
  /** Needed in node-deployment mode (NodeGetInfo). */
  node?: Pick<NodeClient, 'nodeGetInfo'>;
  driverName: string;
  pluginCapabilities: ReadonlySet<PluginServiceCapabilityName>;
  controllerCapabilities: ReadonlySet<ControllerCapabilityName>;
}

export interface ProvisionerSidecarDeps {
  /** The main API client (--kube-api-qps/--kube-api-burst). */
  kube: KubeClient;
  informers: InformerFactory;
  csi: ProvisionerCsiDeps;
  /** Events; default: a recorder on `kube` with the Go library's source component `<driver>_<host>_<uuid>`. */
  recorder?: EventRecorder;
  /** Where the controller_* and workqueue_* metrics go; none when omitted. */
  registry?: Registry;
  clock?: Clock;
  logger?: Logger;
  /** Replaces the API adapter (tests). */
  api?: ProvisionerApi;
  /** Replaces the journal's Lease adapter (tests). */
  journalApi?: JournalApi;
  hostname?: string;
  /** Aborting it stops the controllers (as dispose() does). */
  signal?: AbortSignal;
  /** Client for CSIStorageCapacity writes (--kube-api-capacity-qps/-burst); default `kube`. */
  capacityKube?: KubeRequester;
  /** CSI migration translations (tests); default: the shared translator. */
  translator?: MigrationTranslator;
}

/** The flag values the controllers use (names as in ProvisionerOptions, durations in ms). */
export interface ProvisionerSidecarOptions {
  volumeNamePrefix: string;
  volumeNameUuidLength: number;
  retryIntervalStartMs: number;
  retryIntervalMaxMs: number;
  workerThreads: number;
  cloningProtectionThreads: number;
  timeoutMs: number;
  strictTopology: boolean;
  immediateTopology: boolean;
  extraCreateMetadata: boolean;
  defaultFstype: string;
  controllerPublishReadonly: boolean;
  preventVolumeModeConversion: boolean;
  nodeDeployment: boolean;
  nodeDeploymentImmediateBinding: boolean;
  nodeDeploymentBaseDelayMs: number;
  nodeDeploymentMaxDelayMs: number;
  /** NODE_NAME, required with nodeDeployment. */
  nodeName?: string;
  featureGates: { enabled(name: string): boolean };
  /** Re-delivery period of cached claims and volumes (default 15 minutes, as in Go). */
  resyncPeriodMs?: number;
  /**
   * Drop managedFields and the last-applied annotation from cached claims and PVs (default
   * true). Turn off when another controller in the process shares these informers with its own
   * transform (a shared informer can have only one).
   */
  trimCaches?: boolean;
  /** --snapshot-orphan-sweep-interval; 0 turns the sweeper off. Default 5 minutes. */
  snapshotOrphanSweepIntervalMs?: number;
  enableCapacity?: boolean;
  capacityForImmediateBinding?: boolean;
  capacityPollIntervalMs?: number;
  capacityOwnerrefLevel?: number;
  capacityThreads?: number;
  /** NAMESPACE: where CSIStorageCapacity objects live (required with enableCapacity). */
  namespace?: string;
  /** POD_NAME: start of the owner lookup (required with capacityOwnerrefLevel >= 0). */
  podName?: string;
  /**
   * --provisioning-journal: record every CreateVolume in a Lease in `journalNamespace` first,
   * and replay what is left on start (default true; needs journalNamespace).
   */
  provisioningJournal?: boolean;
  /** Namespace of the journal's Leases: the leader-election Lease namespace. */
  journalNamespace?: string;
  /** --provisioning-protection-finalizer: also hold deleted claims until their volume is settled. */
  provisioningProtectionFinalizer?: boolean;
  /** How often every journal entry is looked at again (default 5 minutes). */
  journalResyncPeriodMs?: number;
  /** How long a settled journal entry waits for a write to carry its removal (default 5 s). */
  journalRemovalDelayMs?: number;
}

export interface ProvisionerSidecar extends Disposable {
  readonly identity: string;
  readonly claimController: ClaimController;
  readonly volumeController: VolumeController;
  readonly saver: VolumeSaver;
  readonly provisioner: CsiProvisioner;
  readonly capacity: CapacityController | undefined;
  /** The provisioning journal; undefined when off (flag, no namespace, or no Lease permissions). */
  readonly journal: ProvisioningJournal | undefined;
  readonly journalController: JournalController | undefined;
  /** Resolves when every worker has stopped (after dispose). */
  readonly stopped: Promise<void>;
}

const VA_BY_PV_INDEX = 'pv';

/** Index function: VolumeAttachments by the PV they attach. */
export function volumeAttachmentPvIndex(obj: KubeObject): string[] {
  const name = (obj as VolumeAttachment).spec?.source?.persistentVolumeName;
  return name ? [name] : [];
}

/** A fixed single-node topology (node mode): the Node and CSINode are built from NodeGetInfo, never watched. */
function fixedTopology(nodeName: string, driverName: string, segments: Readonly<Record<string, string>>): TopologyLookup {
  const node: Node = { metadata: { name: nodeName, labels: { ...segments } } };
  const csiNode: CSINode = { metadata: { name: nodeName }, spec: { drivers: [{ name: driverName, nodeID: nodeName, topologyKeys: Object.keys(segments) }] } };
  return {
    getCSINode: (n) => (n === nodeName ? csiNode : undefined),
    listCSINodes: () => [csiNode],
    getNode: (n) => (n === nodeName ? node : undefined),
    listNodes: () => [node],
  };
}

/** Whether VolumeSnapshots (v1) are served and we may list them (the sweeper needs both). */
async function snapshotsListable(kube: KubeClient, logger: Logger): Promise<boolean> {
  try {
    await kube.request({ method: 'GET', path: resourcePath(VOLUME_SNAPSHOTS), query: { limit: 1 } });
    return true;
  } catch (err) {
    if (isNotFound(err)) logger.v(3).info('VolumeSnapshot v1 API not served: snapshot finalizer sweeper disabled');
    else if (isForbidden(err)) logger.v(3).info('No list permission on volumesnapshots: snapshot finalizer sweeper disabled');
    else logger.warn('Cannot check the VolumeSnapshot API: snapshot finalizer sweeper disabled', { err: err instanceof Error ? err.message : String(err) });
    return false;
  }
}

/** How long shutdown waits for the journal's last removals to be written. */
const JOURNAL_FLUSH_AT_EXIT_MS = 2_000;

/**
 * Whether the journal's Leases can be listed (the informer needs it). Without permission the
 * journal is off, loudly, rather than the provisioner waiting forever for a cache to sync.
 */
async function journalListable(api: JournalApi, namespace: string, selector: string, logger: Logger): Promise<boolean> {
  try {
    await api.probeList(namespace, selector);
    return true;
  } catch (err) {
    if (!isForbidden(err)) return true;
    logger.error(
      `PROVISIONING JOURNAL DISABLED: no permission to list Leases in namespace ${namespace}. A restart between CreateVolume and saving the PV can now leak volumes, ` +
        'as with the Go provisioner; grant get, list, watch, create, update and delete on coordination.k8s.io leases in that namespace to fix it',
      undefined,
      { err: err instanceof Error ? err.message : String(err) },
    );
    return false;
  }
}

/** Starts the provisioner's controllers; informers are started and synced before workers run. */
export async function startProvisioner(deps: ProvisionerSidecarDeps, options: ProvisionerSidecarOptions): Promise<ProvisionerSidecar> {
  const clock = deps.clock ?? realClock;
  const logger = (deps.logger ?? discardLogger).withName('csi-provisioner');
  const driverName = deps.csi.driverName;
  const owner = new DisposableStore();
  const stop = new AbortController();
  owner.defer(() => stop.abort(new Error('csi-provisioner stopped')));
  if (deps.signal) {
    const onAbort = () => stop.abort(deps.signal?.reason);
    if (deps.signal.aborted) onAbort();
    else deps.signal.addEventListener('abort', onAbort, { once: true });
    owner.defer(() => deps.signal?.removeEventListener('abort', onAbort));
  }

  if (options.nodeDeployment && !options.nodeName) throw new Error('the NODE_NAME environment variable must be set when using --node-deployment');
  const features = {
    topology: options.featureGates.enabled('Topology'),
    volumeAttributesClass: options.featureGates.enabled('VolumeAttributesClass'),
    crossNamespaceVolumeDataSource: options.featureGates.enabled('CrossNamespaceVolumeDataSource'),
  };
  const supportsTopology = features.topology && deps.csi.pluginCapabilities.has('VOLUME_ACCESSIBILITY_CONSTRAINTS');
  const nodeName = options.nodeDeployment ? options.nodeName : undefined;

  let nodeSegments: Record<string, string> | undefined;
  if (nodeName) {
    if (!deps.csi.node) throw new Error('--node-deployment needs the CSI Node service (NodeGetInfo)');
    const info = await deps.csi.node.nodeGetInfo({}, { timeoutMs: options.timeoutMs });
    nodeSegments = { ...(info.accessible_topology?.segments ?? {}) };
    logger.info('Using local topology', { node: nodeName, segments: nodeSegments });
  }

  const identity = provisionerIdentity(clock.now(), driverName, nodeName);
  const host = deps.hostname ?? hostname();
  const recorder =
    deps.recorder ??
    owner.add(new KubeEventRecorder({ sink: apiEventSink(deps.kube), source: { component: `${driverName}_${host}_${randomUUID()}` }, clock, logger }));
  const api = deps.api ?? kubeProvisionerApi(deps.kube);
  const queueMetrics = deps.registry ? workQueueMetrics(deps.registry) : undefined;
  const metrics = deps.registry ? provisionerMetrics(deps.registry) : noProvisionerMetrics;

  const f = deps.informers;
  const trim = options.trimCaches ?? true;
  const claims = f.informerFor<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, {
    indexers: { [CLAIM_UID_INDEX]: claimUidIndex },
    ...(trim ? { transform: trimCachedObject<PersistentVolumeClaim> } : {}),
  });
  const volumes = f.informerFor<PersistentVolume>(PERSISTENT_VOLUMES, trim ? { transform: trimCachedObject<PersistentVolume> } : {});
  const classes = f.informerFor<StorageClass>(STORAGE_CLASSES);
  let topology: TopologyLookup = { getCSINode: () => undefined, listCSINodes: () => [], getNode: () => undefined, listNodes: () => [] };
  if (supportsTopology) {
    if (nodeName) {
      topology = fixedTopology(nodeName, driverName, nodeSegments ?? {});
    } else {
      const nodes = f.informerFor<Node>(NODES);
      const csiNodes = f.informerFor<CSINode>(CSI_NODES);
      // Bumped when a Node's labels or a CSINode change: cluster-wide topology is computed once per
      // change, not per claim (Node status heartbeats leave it alone).
      let generation = 0;
      const bump = () => void generation++;
      owner.add(nodes.addEventHandler({ onAdd: bump, onDelete: bump, onUpdate: (o, n) => void (sameLabels(o, n) || bump()) }, { name: 'topology-generation' }));
      owner.add(csiNodes.addEventHandler({ onAdd: bump, onUpdate: bump, onDelete: bump }, { name: 'topology-generation' }));
      topology = {
        getCSINode: (n) => csiNodes.store.get(n),
        listCSINodes: () => csiNodes.store.list(),
        getNode: (n) => nodes.store.get(n),
        listNodes: () => nodes.store.list(),
        generation: () => generation,
      };
    }
  }
  let attachmentsOf: ((pv: string) => readonly VolumeAttachment[]) | undefined;
  if (deps.csi.controllerCapabilities.has('PUBLISH_UNPUBLISH_VOLUME')) {
    const vas = f.informerFor<VolumeAttachment>(VOLUME_ATTACHMENTS, { indexers: { [VA_BY_PV_INDEX]: volumeAttachmentPvIndex } });
    attachmentsOf = (pv) => vas.store.byIndex(VA_BY_PV_INDEX, pv);
  }

  // The caches every configuration needs start streaming now; informers asked for below start at
  // once and replay their store to handlers added later, so nothing is missed. The permission
  // probes run meanwhile, side by side, instead of one after the other before the first list.
  f.start(stop.signal);
  const journalNamespace = options.journalNamespace;
  const journalApi = deps.journalApi ?? kubeJournalApi(deps.kube);
  const journalSelectorValue = journalSelector(driverName);
  const journalProbe =
    options.provisioningJournal !== false && journalNamespace ? journalListable(journalApi, journalNamespace, journalSelectorValue, logger) : undefined;
  const sweepMs = options.snapshotOrphanSweepIntervalMs ?? 300_000;
  const snapshotProbe = sweepMs > 0 && deps.csi.controllerCapabilities.has('CREATE_DELETE_SNAPSHOT') ? snapshotsListable(deps.kube, logger) : undefined;

  // Cross-namespace data sources need ReferenceGrants; like Go, the controllers wait for this cache.
  let referenceGrants: ((namespace: string) => readonly ReferenceGrant[]) | undefined;
  if (features.crossNamespaceVolumeDataSource) {
    referenceGrants = referenceGrantInformer(f).inNamespace;
    await checkReferenceGrantsListable(deps.kube, logger, stop.signal);
  }

  let journal: ProvisioningJournal | undefined;
  let leases: ReturnType<typeof f.informerFor<Lease>> | undefined;
  if (journalProbe && journalNamespace) {
    const selector = journalSelectorValue;
    if (await journalProbe) {
      const store = f.informerFor<Lease>(LEASES, { namespace: journalNamespace, labelSelector: selector, indexers: { [JOURNAL_CLAIM_UID_INDEX]: journalClaimUidIndex } });
      leases = store;
      journal = new ProvisioningJournal(
        {
          namespace: journalNamespace,
          driverName,
          holder: `${host}/${identity}`,
          node: nodeName,
          protectionFinalizer: options.provisioningProtectionFinalizer ?? false,
          removalDelayMs: options.journalRemovalDelayMs,
        },
        { api: journalApi, claims: api, leases: () => store.store.list(), clock, logger },
      );
      logger.info('Provisioning journal enabled', { namespace: journalNamespace, selector, protectionFinalizer: journal.protectionFinalizer });
    }
  } else if (options.provisioningJournal !== false) {
    logger.warn('Provisioning journal disabled: no namespace for its Leases');
  }
  if (options.provisioningProtectionFinalizer && !journal) logger.warn('--provisioning-protection-finalizer has no effect without the provisioning journal');

  const storageClass = (name: string) => classes.store.get(name);
  const topologyCache = new TopologyCache();
  const translator = deps.translator ?? createMigrationTranslator();
  // CSI migration: a driver that replaces an in-tree plugin also serves that plugin's name.
  const inTreePluginName = inTreePluginFor(driverName, translator);
  if (inTreePluginName) logger.v(2).info('Supports migration from in-tree plugin', { plugin: inTreePluginName });
  const provisioner = new CsiProvisioner(
    {
      driverName,
      identity,
      volumeNamePrefix: options.volumeNamePrefix,
      volumeNameUuidLength: options.volumeNameUuidLength,
      defaultFsType: options.defaultFstype,
      extraCreateMetadata: options.extraCreateMetadata,
      strictTopology: options.strictTopology,
      immediateTopology: options.immediateTopology,
      controllerPublishReadOnly: options.controllerPublishReadonly,
      preventVolumeModeConversion: options.preventVolumeModeConversion,
      timeoutMs: options.timeoutMs,
      pluginCapabilities: deps.csi.pluginCapabilities,
      controllerCapabilities: deps.csi.controllerCapabilities,
      features,
      node: nodeName ? { name: nodeName, segments: nodeSegments } : undefined,
      inTreePluginName,
    },
    {
      csi: deps.csi.controller,
      api,
      claim: (ns, name) => claims.store.getByName(ns, name),
      storageClass,
      topology,
      topologyCache,
      attachmentsOf,
      referenceGrants,
      journal,
      recorder,
      logger,
      translator,
    },
  );

  const known = knownProvisionerNames(driverName, inTreePluginName);
  const recentlyDeleted = new RecentlyDeletedVolumes(clock);
  const saver = owner.add(
    new VolumeSaver({
      api,
      deleteBackendVolume: (id, secrets, signal) => provisioner.deleteBackendVolume(id, secrets, signal),
      claimByUid: (uid) => claims.store.byIndex(CLAIM_UID_INDEX, uid)[0],
      recorder,
      logger,
      clock,
      queueMetrics,
      onSettled: journal
        ? (job, outcome) => {
            const ref = job.pv.spec?.claimRef;
            return journal.settle(
              { pvName: job.pv.metadata?.name ?? '', claim: { namespace: ref?.namespace ?? '', name: ref?.name ?? '', uid: job.claimUid } },
              outcome === 'saved' ? 'PersistentVolume saved' : 'stray volume deleted',
            );
          }
        : undefined,
    }),
  );
  const ownership = nodeName
    ? new NodeClaimOwnership({
        nodeName,
        immediateBinding: options.nodeDeploymentImmediateBinding,
        baseDelayMs: options.nodeDeploymentBaseDelayMs,
        maxDelayMs: options.nodeDeploymentMaxDelayMs,
        claim: (uid) => claims.store.byIndex(CLAIM_UID_INDEX, uid)[0],
        api,
        csi: deps.csi.controller,
        provisioner,
        clock,
        logger,
      })
    : undefined;
  let capacity: CapacityController | undefined;
  if (options.enableCapacity) {
    const namespace = options.namespace;
    if (!namespace) throw new Error('need NAMESPACE env variable for CSIStorageCapacity objects (--enable-capacity)');
    const level = options.capacityOwnerrefLevel ?? 1;
    let capacityOwner: OwnerReference | undefined;
    if (level >= 0) {
      if (!options.podName) throw new Error('need POD_NAME env variable to determine CSIStorageCapacity owner (--capacity-ownerref-level >= 0)');
      capacityOwner = await lookupOwner(deps.kube, namespace, options.podName, level);
      logger.info('Using owner of CSIStorageCapacity objects', { owner: `${capacityOwner.apiVersion}/${capacityOwner.kind} ${capacityOwner.name}` });
    }
    const capacityResource = await detectCapacityApi(deps.kube, namespace, logger, stop.signal);
    const managedBy = managedById(nodeName);
    const segments = nodeName
      ? fixedSegmentSource(nodeSegments ?? {})
      : clusterSegmentSource(driverName, f.informerFor<CSINode>(CSI_NODES), f.informerFor<Node>(NODES), clock);
    capacity = owner.add(
      new CapacityController(
        {
          client: deps.capacityKube ?? deps.kube,
          csi: deps.csi.controller,
          classes,
          capacities: f.informerFor<CSIStorageCapacity>(capacityResource, { namespace, labelSelector: capacitySelector(driverName, managedBy) }),
          resource: capacityResource,
          segments,
          clock,
          logger,
          queueMetrics,
          registry: deps.registry,
        },
        {
          driverName,
          namespace,
          managedBy,
          owner: capacityOwner,
          pollIntervalMs: options.capacityPollIntervalMs ?? 60_000,
          immediateBinding: options.capacityForImmediateBinding ?? false,
          timeoutMs: options.timeoutMs,
          workers: options.capacityThreads ?? 1,
          retryIntervalStartMs: options.retryIntervalStartMs,
          retryIntervalMaxMs: options.retryIntervalMaxMs,
        },
      ),
    );
  }
  const cap = capacity;

  const claimController = owner.add(
    new ClaimController(
      {
        provisioner,
        api,
        claims,
        volume: (name) => volumes.store.get(name),
        storageClass,
        saver,
        recentlyDeleted,
        topologyCache,
        recorder,
        metrics,
        clock,
        logger,
        queueMetrics,
        ownership,
        onProvisioned: cap
          ? (pv, sc) => (pv.spec?.nodeAffinity ? cap.refreshForNodeAffinity(pv.spec.nodeAffinity) : cap.refreshStorageClass(sc.metadata?.name ?? ''))
          : undefined,
        onProvisionFailed: cap ? (sc) => cap.refreshStorageClass(sc.metadata?.name ?? '') : undefined,
      },
      {
        driverName,
        knownProvisioners: known,
        workerThreads: options.workerThreads,
        retryIntervalStartMs: options.retryIntervalStartMs,
        retryIntervalMaxMs: options.retryIntervalMaxMs,
        resyncPeriodMs: options.resyncPeriodMs,
      },
    ),
  );
  const volumeController = owner.add(
    new VolumeController(
      {
        provisioner,
        api,
        volumes,
        recentlyDeleted,
        journal,
        recorder,
        metrics,
        clock,
        logger,
        queueMetrics,
        onDeleted: cap ? (pv) => cap.refreshForNodeAffinity(pv.spec?.nodeAffinity) : undefined,
      },
      {
        knownProvisioners: known,
        workerThreads: options.workerThreads,
        retryIntervalStartMs: options.retryIntervalStartMs,
        retryIntervalMaxMs: options.retryIntervalMaxMs,
        resyncPeriodMs: options.resyncPeriodMs,
      },
    ),
  );
  const cloneProtection = deps.csi.controllerCapabilities.has('CLONE_VOLUME')
    ? owner.add(
        new CloneProtectionController(
          { claims, api, clock, logger, queueMetrics },
          { workers: options.cloningProtectionThreads, retryIntervalStartMs: options.retryIntervalStartMs, retryIntervalMaxMs: options.retryIntervalMaxMs },
        ),
      )
    : undefined;

  const journalController =
    journal && leases
      ? owner.add(
          new JournalController(
            {
              journal,
              leases,
              claims,
              claimByUid: (uid) => claims.store.byIndex(CLAIM_UID_INDEX, uid)[0],
              volume: (name) => volumes.store.get(name),
              api,
              csi: deps.csi.controller,
              busy: (uid, pvName) => claimController.isBusy(uid) || saver.has(pvName),
              recentlyDeleted,
              clock,
              logger,
              queueMetrics,
              registry: deps.registry,
            },
            {
              driverName,
              nodeName,
              timeoutMs: options.timeoutMs,
              retryIntervalStartMs: options.retryIntervalStartMs,
              retryIntervalMaxMs: options.retryIntervalMaxMs,
              resyncPeriodMs: options.journalResyncPeriodMs,
            },
          ),
        )
      : undefined;

  let sweeper: SnapshotFinalizerSweeper | undefined;
  if (snapshotProbe && (await snapshotProbe)) {
    sweeper = owner.add(new SnapshotFinalizerSweeper({ snapshots: f.informerFor<VolumeSnapshot>(VOLUME_SNAPSHOTS), claims, api, clock, logger }, sweepMs));
  }

  try {
    await f.waitForSync(stop.signal);
  } catch (err) {
    await owner.dispose();
    throw err;
  }
  logger.info('Started provisioner controller', { driver: driverName, identity });

  const runs = [
    saver.run(stop.signal),
    claimController.run(stop.signal),
    volumeController.run(stop.signal),
    ...(cloneProtection ? [cloneProtection.run(stop.signal)] : []),
    ...(capacity ? [capacity.run(stop.signal)] : []),
    ...(journalController ? [journalController.run(stop.signal)] : []),
  ];
  sweeper?.start(stop.signal);
  const stopped = Promise.allSettled(runs).then(() => undefined);
  // Reverse order on dispose: this runs first, then the controllers shut their queues down.
  owner.add(toDisposable(() => stop.abort(new Error('csi-provisioner stopped'))));

  return {
    identity,
    claimController,
    volumeController,
    saver,
    provisioner,
    capacity,
    journal,
    journalController,
    stopped,
    async dispose() {
      await owner.dispose();
      await stopped;
      if (journal) {
        // Settled entries whose removal is still queued: write them now rather than leave them
        // to the next process's replay (best effort, briefly).
        journal.close();
        const cap = new AbortController();
        await Promise.race([journal.flush().catch(() => undefined), clock.sleep(JOURNAL_FLUSH_AT_EXIT_MS, cap.signal).catch(() => undefined)]);
        cap.abort();
      }
    },
  };
}
