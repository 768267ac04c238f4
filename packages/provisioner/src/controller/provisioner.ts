// One provisioning or deletion of a volume, end to end (the Go csiProvisioner's Provision and
// Delete): validate the claim and its StorageClass, resolve secrets, data source and topology,
// call CreateVolume, check the answer and build the PV; or find the deletion secret and call
// DeleteVolume. Controllers decide when; this decides how, and says in the error's state what a
// failure means for the claim.

import { CsiCallError, PERSISTENT_VOLUME_CLAIMS, createMigrationTranslator, isForbidden, isNotFound, objectReference, parseQuantity } from '@csi-sidecars-ts/shared';
import type {
  ControllerCapabilityName,
  ControllerClient,
  CreateVolumeRequest,
  EventRecorder,
  Logger,
  MigrationTranslator,
  PersistentVolume,
  PersistentVolumeClaim,
  PluginServiceCapabilityName,
  StorageClass,
  VolumeAttachment,
} from '@csi-sidecars-ts/shared';
import type { ProvisionerApi } from '../adapters/kube-api.js';
import { volumeCapabilities } from './capabilities.js';
import { claimProvisioner } from './claim-decision.js';
import { ANN_MIGRATED_TO, PVC_KIND, REASON_PROVISIONING, SNAPSHOT_API_GROUP, SNAPSHOT_KIND, SNAPSHOT_SOURCE_FINALIZER, CLONE_FINALIZER } from './constants.js';
import type { DataSource, ReferenceGrant } from './data-source.js';
import { cloneContentSource, referenceGranted, resolveDataSource, snapshotContentSource } from './data-source.js';
import { csiViewOfVolume, storageClassForCsi } from './migration.js';
import { makeVolumeName } from './names.js';
import { fsTypeFromParameters, stripReservedParameters, withExtraCreateMetadata } from './parameters.js';
import { buildPersistentVolume } from './persistent-volume.js';
import type { CreatedVolume, PvSecretRefs } from './persistent-volume.js';
import { IgnoredError, ProvisioningError, createVolumeErrorState, finished, noChange } from './provisioning-state.js';
import type { SecretParams, SecretReference } from './secrets.js';
import {
  CONTROLLER_EXPAND_SECRET,
  CONTROLLER_MODIFY_SECRET,
  CONTROLLER_PUBLISH_SECRET,
  NODE_EXPAND_SECRET,
  NODE_PUBLISH_SECRET,
  NODE_STAGE_SECRET,
  PROVISIONER_SECRET,
  secretReference,
} from './secrets.js';
import type { ProvisioningJournal } from './provisioning-journal.js';
import type { TopologyCache } from './topology-cache.js';
import type { TopologyLookup } from './topology.js';
import { SelectedNodeGoneError, accessibilityRequirements, volumeIsAccessible } from './topology.js';
import { deletionSecretSource } from './volume-decision.js';

/** How many DeleteVolume calls cleanup of an unusable new volume makes within one --timeout. */
export const CLEANUP_DELETE_TRIES = 5;

export interface ProvisionerConfig {
  driverName: string;
  /** Goes into every PV's volumeAttributes (see provisionerIdentity). */
  identity: string;
  volumeNamePrefix: string;
  volumeNameUuidLength: number;
  defaultFsType: string;
  extraCreateMetadata: boolean;
  strictTopology: boolean;
  immediateTopology: boolean;
  controllerPublishReadOnly: boolean;
  preventVolumeModeConversion: boolean;
  /** --timeout for CreateVolume/DeleteVolume. */
  timeoutMs: number;
  pluginCapabilities: ReadonlySet<PluginServiceCapabilityName>;
  controllerCapabilities: ReadonlySet<ControllerCapabilityName>;
  features: { topology: boolean; volumeAttributesClass: boolean; crossNamespaceVolumeDataSource: boolean };
  /** Node-deployment mode: this node's name and its topology from NodeGetInfo. */
  node?: { name: string; segments?: Readonly<Record<string, string>> };
  /** CSI migration: the in-tree plugin the driver replaces (its StorageClasses are translated). */
  inTreePluginName?: string;
}

export interface ProvisionerDeps {
  csi: Pick<ControllerClient, 'createVolume' | 'deleteVolume'>;
  api: ProvisionerApi;
  /** Claims from the informer cache. */
  claim(namespace: string, name: string): PersistentVolumeClaim | undefined;
  storageClass(name: string): StorageClass | undefined;
  topology: TopologyLookup;
  topologyCache: TopologyCache;
  /** VolumeAttachments naming a PV (only when the driver has PUBLISH_UNPUBLISH_VOLUME). */
  attachmentsOf?(pvName: string): readonly VolumeAttachment[];
  referenceGrants?(namespace: string): readonly ReferenceGrant[];
  /** The crash-safe journal: an entry is recorded before every CreateVolume. */
  journal?: ProvisioningJournal;
  recorder: EventRecorder;
  logger: Logger;
  /** CSI migration translations; default: the shared translator. */
  translator?: MigrationTranslator;
}

/** The result of a successful CreateVolume: the PV to save and what is needed to undo it. */
export interface ProvisionResult {
  pv: PersistentVolume;
  volumeId: string;
  /** Provisioner secret data, for a DeleteVolume should the PV not be saveable. */
  secrets: Record<string, string> | undefined;
}

interface Prepared {
  pvName: string;
  request: CreateVolumeRequest;
  /** The provisioner secret, by reference (what the journal records instead of the data). */
  secretRef: SecretReference | undefined;
  requestedBytes: bigint;
  fsType: string;
  secretRefs: PvSecretRefs;
  dataSource: DataSource | undefined;
  vacName: string | undefined;
  /** The claim's StorageClass named the in-tree plugin: CreateVolume used its CSI translation. */
  migrated: boolean;
}

function claimKey(claim: PersistentVolumeClaim): string {
  return `${claim.metadata?.namespace}/${claim.metadata?.name}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Secret.data values are base64; CSI wants the decoded strings. */
export function secretData(data: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  return out;
}

export class CsiProvisioner {
  readonly #cfg: ProvisionerConfig;
  readonly #deps: ProvisionerDeps;
  readonly #log: Logger;
  readonly #translator: MigrationTranslator;

  constructor(config: ProvisionerConfig, deps: ProvisionerDeps) {
    this.#cfg = config;
    this.#deps = deps;
    this.#log = deps.logger;
    this.#translator = deps.translator ?? createMigrationTranslator();
  }

  get config(): ProvisionerConfig {
    return this.#cfg;
  }

  /** Topology is used only when the driver has VOLUME_ACCESSIBILITY_CONSTRAINTS and the gate is on. */
  get supportsTopology(): boolean {
    return this.#cfg.features.topology && this.#cfg.pluginCapabilities.has('VOLUME_ACCESSIBILITY_CONSTRAINTS');
  }

  /** The PV name for a claim; undefined when the claim or the flags make naming impossible. */
  volumeNameFor(claim: PersistentVolumeClaim): string | undefined {
    try {
      return makeVolumeName(this.#cfg.volumeNamePrefix, claim.metadata?.uid, this.#cfg.volumeNameUuidLength);
    } catch {
      return undefined;
    }
  }

  #checkCapabilities(need: { snapshot?: boolean; clone?: boolean; modify?: boolean }): string | undefined {
    const c = this.#cfg.controllerCapabilities;
    if (!this.#cfg.pluginCapabilities.has('CONTROLLER_SERVICE')) return 'CSI driver does not support dynamic provisioning: plugin CONTROLLER_SERVICE capability is not reported';
    if (!c.has('CREATE_DELETE_VOLUME')) return 'CSI driver does not support dynamic provisioning: controller CREATE_DELETE_VOLUME capability is not reported';
    if (need.snapshot && !c.has('CREATE_DELETE_SNAPSHOT')) return 'CSI driver does not support snapshot restore: controller CREATE_DELETE_SNAPSHOT capability is not reported';
    if (need.clone && !c.has('CLONE_VOLUME')) return 'CSI driver does not support clone operations: controller CLONE_VOLUME capability is not reported';
    if (need.modify && !c.has('MODIFY_VOLUME')) return 'CSI driver does not support VolumeAttributesClass: controller MODIFY_VOLUME capability is not reported';
    return undefined;
  }

  /**
   * Creates the volume for `claim`. Throws IgnoredError (not ours: no event) or
   * ProvisioningError (with the state the failure leaves the claim in).
   */
  async provision(claim: PersistentVolumeClaim, sc: StorageClass, selectedNode: string, signal?: AbortSignal): Promise<ProvisionResult> {
    const provisioner = claimProvisioner(claim);
    if (provisioner !== this.#cfg.driverName && claim.metadata?.annotations?.[ANN_MIGRATED_TO] !== this.#cfg.driverName) {
      throw new IgnoredError(`PVC annotated with external-provisioner name ${provisioner ?? ''} does not match provisioner driver name ${this.#cfg.driverName}`);
    }
    if (this.#cfg.node && selectedNode !== this.#cfg.node.name) {
      throw new IgnoredError(`not responsible for provisioning of PVC ${claimKey(claim)} because it is not assigned to node ${JSON.stringify(this.#cfg.node.name)}`);
    }
    const prepared = await this.#prepare(claim, sc, selectedNode, signal);
    const { request } = prepared;
    const mayReschedule = this.supportsTopology && selectedNode !== '';
    const journal = this.#deps.journal;
    const entry = journal?.enabled ? journal.entryFor(claim, request, sc.metadata?.name ?? '', prepared.secretRef) : undefined;
    if (journal && entry) {
      try {
        await journal.record(entry, signal);
      } catch (err) {
        throw noChange(errorText(err), err);
      }
    }
    let response;
    try {
      response = await this.#deps.csi.createVolume(request, { timeoutMs: this.#cfg.timeoutMs, signal, migrated: prepared.migrated });
    } catch (err) {
      const state = createVolumeErrorState(err, mayReschedule);
      this.#log.v(5).info('CreateVolume failed', { claim: claimKey(claim), mayReschedule, state, err: errorText(err) });
      if (this.supportsTopology && (state === 'Finished' || state === 'Reschedule')) this.#deps.topologyCache.delete(claim.metadata?.uid ?? '');
      // A final answer from the driver: nothing exists under this name (and nothing will).
      if (journal && entry && (state === 'Finished' || state === 'Reschedule')) await journal.settle(entry, `CreateVolume failed: ${errorText(err)}`);
      throw new ProvisioningError(state, errorText(err), { cause: err });
    }
    const volume = response.volume;
    const volumeId = volume?.volume_id ?? '';
    const secrets = request.secrets;
    let capacity = volume?.capacity_bytes ?? 0n;
    if (capacity === 0n) {
      capacity = prepared.requestedBytes;
    } else if (capacity < prepared.requestedBytes) {
      const msg = `created volume capacity ${capacity} less than requested capacity ${prepared.requestedBytes}`;
      throw new ProvisioningError('InBackground', await this.#cleanup(volumeId, secrets, prepared.pvName, msg, signal));
    }
    if (prepared.dataSource && !volume?.content_source) {
      const isCrossNs = prepared.dataSource.namespace !== claim.metadata?.namespace;
      if (claim.spec?.dataSource || (this.#cfg.features.crossNamespaceVolumeDataSource && isCrossNs)) {
        throw new ProvisioningError('InBackground', await this.#cleanup(volumeId, secrets, prepared.pvName, 'volume content source missing', signal));
      }
    }
    const caps = request.volume_capabilities ?? [];
    const readOnly = this.#cfg.controllerPublishReadOnly && caps.length === 1 && caps[0]?.access_mode?.mode === 'MULTI_NODE_READER_ONLY';
    const created: CreatedVolume = {
      volumeId,
      capacityBytes: capacity,
      volumeContext: volume?.volume_context ?? {},
      accessibleTopology: volume?.accessible_topology ?? [],
    };
    let pv = buildPersistentVolume({
      pvName: prepared.pvName,
      claim,
      storageClass: sc,
      driverName: this.#cfg.driverName,
      identity: this.#cfg.identity,
      volume: created,
      requestedBytes: prepared.requestedBytes,
      fsType: prepared.fsType,
      secrets: prepared.secretRefs,
      readOnly,
      supportsTopology: this.supportsTopology,
      volumeAttributesClassName: prepared.vacName,
    });
    if (prepared.migrated) {
      try {
        pv = this.#translator.translateCsiPvToInTree(pv);
      } catch (err) {
        // The volume exists but cannot be described in-tree: delete it rather than leak it (Go
        // means to, but hands its deleter a nil PV and keeps the volume).
        this.#log.warn('Failed to translate the CSI PV to in-tree; deleting the new volume', { pv: prepared.pvName, volumeHandle: volumeId, err: errorText(err) });
        const cleanupErr = await this.deleteBackendVolume(volumeId, secrets, signal, true);
        if (cleanupErr) {
          const problem = errorText(err).trim().replace(/\.$/, '');
          throw new ProvisioningError('InBackground', `${problem}. Deleting the new volume of ${prepared.pvName} failed too, will retry: ${errorText(cleanupErr)}`, { cause: err });
        }
        if (journal && entry) await journal.settle(entry, 'volume deleted: its PV could not be translated to in-tree');
        if (this.supportsTopology) this.#deps.topologyCache.delete(claim.metadata?.uid ?? '');
        throw finished(errorText(err), err);
      }
    }
    this.#log.v(2).info('Successfully created volume', { pv: prepared.pvName, claim: claimKey(claim), volumeHandle: volumeId });
    if (this.supportsTopology) this.#deps.topologyCache.delete(claim.metadata?.uid ?? '');
    if (prepared.dataSource?.kind === SNAPSHOT_KIND && claim.spec?.dataSource?.kind === SNAPSHOT_KIND) {
      await this.removeSnapshotFinalizer(prepared.dataSource.namespace, prepared.dataSource.name, signal).catch((err: unknown) =>
        this.#log.warn('Failed to remove snapshot finalizer, the sweeper will retry', { snapshot: `${prepared.dataSource?.namespace}/${prepared.dataSource?.name}`, err: errorText(err) }),
      );
    }
    return { pv, volumeId, secrets };
  }

  /** DeleteVolume (up to 5 tries within one --timeout) for a volume we cannot keep; returns the error text. */
  async #cleanup(volumeId: string, secrets: Record<string, string> | undefined, pvName: string, problem: string, signal?: AbortSignal): Promise<string> {
    const err = await this.deleteBackendVolume(volumeId, secrets, signal);
    return err ? `${problem}. Cleanup of volume ${pvName} failed, volume is orphaned: ${errorText(err)}` : problem;
  }

  /** Deletes a backend volume by id, retrying within one --timeout; returns the last error or undefined. */
  async deleteBackendVolume(volumeId: string, secrets: Record<string, string> | undefined, signal?: AbortSignal, migrated = false): Promise<unknown> {
    const deadline = Date.now() + this.#cfg.timeoutMs;
    let last: unknown;
    for (let i = 0; i < CLEANUP_DELETE_TRIES; i++) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      try {
        await this.#deps.csi.deleteVolume({ volume_id: volumeId, secrets: secrets ?? {} }, { timeoutMs: left, signal, migrated });
        return undefined;
      } catch (err) {
        last = err;
      }
    }
    return last ?? new Error(`DeleteVolume ${volumeId} timed out`);
  }

  async #prepare(claim: PersistentVolumeClaim, claimClass: StorageClass, selectedNode: string, signal?: AbortSignal): Promise<Prepared> {
    const cfg = this.#cfg;
    let dataSource: DataSource | undefined;
    try {
      dataSource = resolveDataSource(claim, cfg.features.crossNamespaceVolumeDataSource);
    } catch (err) {
      throw finished(errorText(err));
    }
    // Everything below works on the class as the driver takes it.
    let sc: StorageClass;
    let migrated: boolean;
    try {
      ({ storageClass: sc, migrated } = storageClassForCsi(claimClass, cfg.inTreePluginName, this.#translator));
    } catch (err) {
      throw finished(errorText(err), err);
    }
    if (migrated) this.#log.v(2).info('Translated the in-tree StorageClass to CSI', { storageClass: claimClass.metadata?.name, plugin: claimClass.provisioner });
    // Go checks the grant before it looks at the kind: an unallowed populator source is refused too.
    if (dataSource && dataSource.namespace !== claim.metadata?.namespace && !referenceGranted(claim, this.#deps.referenceGrants?.(dataSource.namespace) ?? [])) {
      const ref = claim.spec?.dataSourceRef;
      throw finished(`accessing ${ref?.namespace}/${ref?.name} of ${ref?.kind} dataSource from ${claimKey(claim)} isn't allowed`);
    }
    const need: { snapshot?: boolean; clone?: boolean; modify?: boolean } = {};
    if (dataSource) {
      if (dataSource.name === '') throw finished(`the PVC source not found for PVC ${claim.metadata?.name}`);
      if (dataSource.kind === SNAPSHOT_KIND) {
        if (dataSource.apiGroup !== SNAPSHOT_API_GROUP) {
          throw finished(`the PVC source does not belong to the right APIGroup. Expected ${SNAPSHOT_API_GROUP}, Got ${dataSource.apiGroup}`);
        }
        need.snapshot = true;
      } else if (dataSource.kind === PVC_KIND) {
        need.clone = true;
      } else {
        this.#deps.recorder.event(objectReference(claim, PERSISTENT_VOLUME_CLAIMS), 'Normal', REASON_PROVISIONING, 'Assuming an external populator will provision the volume');
        throw new IgnoredError(`data source (${dataSource.kind}) is not handled by the provisioner, assuming an external populator will provision it`);
      }
    }
    const vacName = cfg.features.volumeAttributesClass ? claim.spec?.volumeAttributesClassName || undefined : undefined;
    if (vacName) need.modify = true;
    const capProblem = this.#checkCapabilities(need);
    if (capProblem) throw finished(capProblem);
    if (claim.spec?.selector) throw finished('claim Selector is not supported');

    let pvName: string;
    let fsType: string;
    let parameters: Record<string, string>;
    let requestedBytes: bigint;
    let capabilities;
    try {
      pvName = makeVolumeName(cfg.volumeNamePrefix, claim.metadata?.uid, cfg.volumeNameUuidLength);
      const fs = fsTypeFromParameters(sc.parameters, cfg.defaultFsType);
      if (fs.deprecatedKeyUsed) this.#log.warn('"fstype" is deprecated and will be removed in a future release, please use "csi.storage.k8s.io/fstype" instead', { storageClass: sc.metadata?.name });
      fsType = fs.fsType;
      const storage = claim.spec?.resources?.requests?.storage;
      requestedBytes = storage === undefined ? 0n : parseQuantity(String(storage)).int64Value();
      if (requestedBytes < 0n) throw new Error(`requested storage ${String(storage)} is negative`);
      capabilities = volumeCapabilities(claim, fsType, sc.mountOptions, cfg.controllerCapabilities.has('SINGLE_NODE_MULTI_WRITER'));
      // Checked before any side effect (finalizers on sources): a bad StorageClass is final.
      parameters = stripReservedParameters(sc.parameters);
    } catch (err) {
      const text = errorText(err);
      throw finished(text.startsWith('found unknown parameter key') ? `failed to strip CSI Parameters of prefixed keys: ${text}` : text);
    }

    const request: CreateVolumeRequest = {
      name: pvName,
      parameters,
      volume_capabilities: capabilities,
      capacity_range: { required_bytes: requestedBytes },
    };

    if (dataSource && (need.clone || need.snapshot)) {
      try {
        request.volume_content_source = need.snapshot ? await this.#snapshotSource(claim, sc, dataSource, signal) : await this.#cloneSource(claim, sc, dataSource, signal);
      } catch (err) {
        throw noChange(`error getting handle for DataSource Type ${dataSource.kind} by Name ${dataSource.name}: ${errorText(err)}`, err);
      }
      try {
        if (need.clone) await this.#setCloneFinalizer(dataSource, signal);
        else await this.#setSnapshotFinalizer(dataSource, signal);
      } catch (err) {
        throw noChange(errorText(err), err);
      }
    }

    if (this.supportsTopology) {
      try {
        const requirements = accessibilityRequirements({
          driverName: cfg.driverName,
          claimUid: claim.metadata?.uid ?? '',
          claimName: claim.metadata?.name ?? '',
          allowedTopologies: sc.allowedTopologies,
          selectedNode,
          strictTopology: cfg.strictTopology,
          immediateTopology: cfg.immediateTopology,
          lookup: this.#deps.topology,
          cache: this.#deps.topologyCache,
        });
        if (requirements) request.accessibility_requirements = requirements;
      } catch (err) {
        if (err instanceof SelectedNodeGoneError && (await this.#nodeReallyGone(selectedNode, signal))) {
          throw new ProvisioningError('Reschedule', errorText(err), { cause: err });
        }
        throw noChange(`error generating accessibility requirements: ${errorText(err)}`, err);
      }
    }

    const ctx = { pvName, claim: { name: claim.metadata?.name, namespace: claim.metadata?.namespace, annotations: claim.metadata?.annotations } };
    const ref = (s: SecretParams): SecretReference | undefined => {
      try {
        return secretReference(s, sc.parameters ?? {}, ctx);
      } catch (err) {
        throw noChange(errorText(err), err);
      }
    };
    const secretRefs: PvSecretRefs = { provisioner: ref(PROVISIONER_SECRET) };
    if (secretRefs.provisioner) request.secrets = await this.#credentials(secretRefs.provisioner, signal);
    secretRefs.controllerPublish = ref(CONTROLLER_PUBLISH_SECRET);
    secretRefs.nodeStage = ref(NODE_STAGE_SECRET);
    secretRefs.nodePublish = ref(NODE_PUBLISH_SECRET);
    secretRefs.controllerExpand = ref(CONTROLLER_EXPAND_SECRET);
    secretRefs.nodeExpand = ref(NODE_EXPAND_SECRET);
    secretRefs.controllerModify = ref(CONTROLLER_MODIFY_SECRET);

    if (cfg.extraCreateMetadata) {
      request.parameters = withExtraCreateMetadata(parameters, claim.metadata?.name ?? '', claim.metadata?.namespace ?? '', pvName);
    }

    if (vacName) {
      let vac;
      try {
        vac = await this.#deps.api.getVolumeAttributesClass(vacName, signal);
      } catch (err) {
        throw noChange(errorText(err), err);
      }
      if (vac.driverName !== cfg.driverName) {
        throw finished(`VAC ${vacName} referenced in PVC is for driver ${vac.driverName} which does not match driver name ${cfg.driverName}`);
      }
      request.mutable_parameters = { ...(vac.parameters ?? {}) };
    }
    return { pvName, request, secretRef: secretRefs.provisioner, requestedBytes, fsType, secretRefs, dataSource, vacName, migrated };
  }

  /**
   * The caches said the selected node (or its CSINode) does not exist. A node that joined a
   * moment ago may just not be in our cache yet: ask the apiserver before giving the claim back
   * to the scheduler.
   */
  async #nodeReallyGone(node: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.#deps.api.getNode(node, signal);
      await this.#deps.api.getCSINode(node, signal);
      this.#log.v(2).info('Selected node is missing from the cache but exists; retrying', { node });
      return false;
    } catch (err) {
      return isNotFound(err);
    }
  }

  async #credentials(ref: SecretReference, signal?: AbortSignal): Promise<Record<string, string>> {
    try {
      const secret = await this.#deps.api.getSecret(ref.namespace, ref.name, signal);
      return secretData(secret.data);
    } catch (err) {
      throw noChange(`error getting secret ${ref.name} in namespace ${ref.namespace}: ${errorText(err)}`, err);
    }
  }

  async #snapshotSource(claim: PersistentVolumeClaim, sc: StorageClass, ds: DataSource, signal?: AbortSignal) {
    let snapshot;
    try {
      snapshot = await this.#deps.api.getVolumeSnapshot(ds.namespace, ds.name, signal);
    } catch (err) {
      throw new Error(`error getting snapshot ${ds.name} from api server: ${errorText(err)}`);
    }
    const contentName = snapshot.status?.boundVolumeSnapshotContentName;
    let content;
    if (contentName) {
      try {
        content = await this.#deps.api.getVolumeSnapshotContent(contentName, signal);
      } catch (err) {
        this.#log.warn('Error getting snapshot content', { content: contentName, snapshot: `${ds.namespace}/${ds.name}`, err: errorText(err) });
      }
    }
    return snapshotContentSource(claim, sc.provisioner, sc.metadata?.name ?? '', snapshot, content, this.#cfg.preventVolumeModeConversion);
  }

  async #cloneSource(claim: PersistentVolumeClaim, sc: StorageClass, ds: DataSource, signal?: AbortSignal) {
    const source = this.#deps.claim(ds.namespace, ds.name);
    if (!source) throw new Error(`error getting PVC ${ds.name} (namespace ${JSON.stringify(ds.namespace)}) from api server: persistentvolumeclaim "${ds.name}" not found`);
    let pv: PersistentVolume | undefined;
    const volumeName = source.spec?.volumeName;
    if (volumeName) {
      try {
        pv = await this.#deps.api.getPersistentVolume(volumeName, signal);
      } catch (err) {
        this.#log.warn('Error getting the source volume of a clone', { pv: volumeName, claim: `${ds.namespace}/${ds.name}`, err: errorText(err) });
      }
    }
    return cloneContentSource(claim, sc.provisioner, source, pv);
  }

  async #setCloneFinalizer(ds: DataSource, signal?: AbortSignal): Promise<void> {
    const source = this.#deps.claim(ds.namespace, ds.name);
    if (!source) throw new Error(`persistentvolumeclaim "${ds.name}" not found`);
    if ((source.metadata?.finalizers ?? []).includes(CLONE_FINALIZER)) return;
    const updated = structuredClone(source);
    updated.metadata = { ...updated.metadata, finalizers: [...(updated.metadata?.finalizers ?? []), CLONE_FINALIZER] };
    await this.#deps.api.updateClaim(updated, signal);
  }

  async #setSnapshotFinalizer(ds: DataSource, signal?: AbortSignal): Promise<void> {
    const snapshot = await this.#deps.api.getVolumeSnapshot(ds.namespace, ds.name, signal);
    if ((snapshot.metadata?.finalizers ?? []).includes(SNAPSHOT_SOURCE_FINALIZER)) return;
    const updated = structuredClone(snapshot);
    updated.metadata = { ...updated.metadata, finalizers: [...(updated.metadata?.finalizers ?? []), SNAPSHOT_SOURCE_FINALIZER] };
    try {
      await this.#deps.api.updateVolumeSnapshot(updated, signal);
    } catch (err) {
      // Old RBAC without update on volumesnapshots: provision anyway, unprotected (as Go does).
      if (isForbidden(err)) {
        this.#log.v(3).info('Unable to add finalizer to snapshot (needs update on volumesnapshots); continuing without protection', { snapshot: `${ds.namespace}/${ds.name}` });
        return;
      }
      throw err;
    }
  }

  /** Removes our protection finalizer from a snapshot (NotFound and Forbidden are fine). */
  async removeSnapshotFinalizer(namespace: string, name: string, signal?: AbortSignal): Promise<void> {
    let snapshot;
    try {
      snapshot = await this.#deps.api.getVolumeSnapshot(namespace, name, signal);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    const finalizers = snapshot.metadata?.finalizers ?? [];
    if (!finalizers.includes(SNAPSHOT_SOURCE_FINALIZER)) return;
    const updated = structuredClone(snapshot);
    updated.metadata = { ...updated.metadata, finalizers: finalizers.filter((f) => f !== SNAPSHOT_SOURCE_FINALIZER) };
    try {
      await this.#deps.api.updateVolumeSnapshot(updated, signal);
    } catch (err) {
      if (isNotFound(err) || isForbidden(err)) return;
      throw err;
    }
  }

  /**
   * DeleteVolume for a released PV. Throws IgnoredError when the PV is not this instance's to
   * delete (node mode), other errors when deletion must be retried.
   */
  async deleteVolume(stored: PersistentVolume, signal?: AbortSignal): Promise<void> {
    // An in-tree PV (CSI migration) is deleted through its CSI translation.
    const { pv, migrated } = csiViewOfVolume(stored, this.#translator);
    const csi = pv.spec?.csi;
    if (!csi) throw new Error('invalid CSI PV');
    const node = this.#cfg.node;
    if (node && !volumeIsAccessible(pv.spec?.nodeAffinity, node.segments)) throw new IgnoredError('PV was not provisioned on this node');
    const capProblem = this.#checkCapabilities({});
    if (capProblem) throw new Error(capProblem);
    const secrets = await this.#deletionSecrets(pv, migrated, signal);
    for (const va of this.#deps.attachmentsOf?.(pv.metadata?.name ?? '') ?? []) {
      if (va.spec?.source?.persistentVolumeName === pv.metadata?.name) {
        throw new Error(`persistentvolume ${pv.metadata?.name} is still attached to node ${va.spec?.nodeName}`);
      }
    }
    await this.#deps.csi.deleteVolume({ volume_id: csi.volumeHandle, secrets: secrets ?? {} }, { timeoutMs: this.#cfg.timeoutMs, signal, migrated });
  }

  async #deletionSecrets(pv: PersistentVolume, migrated: boolean, signal?: AbortSignal): Promise<Record<string, string> | undefined> {
    const source = deletionSecretSource(pv);
    let ref: SecretReference | undefined;
    if (source.from === 'none') return undefined;
    if (source.from === 'annotations') {
      ref = { name: source.name, namespace: source.namespace };
    } else {
      const className = pv.spec?.storageClassName ?? '';
      if (className === '') return undefined;
      let sc = this.#deps.storageClass(className);
      if (!sc) {
        this.#log.warn('StorageClass of the volume not found, deleting without secrets', { pv: pv.metadata?.name, storageClass: className });
        return undefined;
      }
      // A migrated volume's in-tree class names its secrets the in-tree way (Portworx): translate it.
      if (migrated) sc = storageClassForCsi(sc, this.#cfg.inTreePluginName, this.#translator).storageClass;
      const claimRef = pv.spec?.claimRef;
      if (!claimRef) {
        this.#log.warn('Volume has no claim reference, deleting without secrets', { pv: pv.metadata?.name });
        return undefined;
      }
      try {
        ref = secretReference(PROVISIONER_SECRET, sc.parameters ?? {}, { pvName: pv.metadata?.name ?? '', claim: { name: claimRef.name, namespace: claimRef.namespace } });
      } catch (err) {
        throw new Error(`failed to get secretreference for volume ${pv.metadata?.name}: ${errorText(err)}`);
      }
      if (!ref) return undefined;
    }
    try {
      return secretData((await this.#deps.api.getSecret(ref.namespace, ref.name, signal)).data);
    } catch (err) {
      // The secret may be gone already; the driver decides whether it can delete without it.
      this.#log.error('Failed to get deletion credentials, deleting without them', err, { pv: pv.metadata?.name, secret: `${ref.namespace}/${ref.name}` });
      return undefined;
    }
  }
}

/** The CsiCallError behind a provisioning failure, if the driver answered with a status. */
export function driverErrorOf(err: unknown): CsiCallError | undefined {
  if (err instanceof CsiCallError) return err;
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return cause instanceof CsiCallError ? cause : undefined;
}

