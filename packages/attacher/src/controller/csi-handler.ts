// The real attach handler: ControllerPublishVolume for VolumeAttachments that exist,
// ControllerUnpublishVolume for those being deleted, PV finalizer release, and the ListVolumes
// reconciler. Write order (each step only after the previous one succeeded):
//   attach: PV finalizer → VA finalizer + node-id annotation → Publish → status attached
//   detach: Unpublish → VA finalizer removed → status detached
// Removing the finalizer before writing attached=false means a VA without our finalizer is
// detached whatever its status says, so one detach calls Unpublish exactly once.
// Every error is saved on the VA (attachError / detachError) and retried with backoff; an
// attach error never skips the detach: until attached=true an attachment is "uncertain", and a
// deleted VA is always unpublished.
// A VA can be queued again while the informer cache still holds the version from before our own
// last write (the reconciler queues VAs while they are being worked on). Acting on that copy would
// publish or unpublish a second time, so syncs of a copy older than our last completed write are
// skipped; the watch event of that write brings the VA back. Likewise a reconciler verdict counts
// only for the VA version it judged.

import type { Clock, Logger, PersistentVolume, VolumeAttachment } from '@csi-sidecars-ts/shared';
import { CsiCallError, errorText, isFinalError, isNotFound } from '@csi-sidecars-ts/shared';
import type { AttacherApi } from '../adapters/attacher-api.js';
import type { AttacherCsi } from '../adapters/attacher-csi.js';
import type { MigrationTranslator } from '@csi-sidecars-ts/shared';
import type { AttacherMetrics, UncertainAttachments } from './attacher-metrics.js';
import type { AttacherCaches } from './caches.js';
import { VA_BY_PV_INDEX } from './caches.js';
import { isMigrationRollback } from './event-filters.js';
import type { AttachHandler, SyncResult } from './handler.js';
import { attacherFinalizer } from './names.js';
import { resolveNodeId } from './node-id.js';
import { attachErrorPatch, attachedStatusPatch, detachErrorPatch, detachedStatusPatch, kubeTime } from './patches.js';
import type { PublishCapabilities } from './publish-request.js';
import { publishRequestOf, unpublishRequestOf } from './publish-request.js';
import { planReconcile } from './reconcile-plan.js';
import type { CsiVolume } from './volume-source.js';
import { csiVolumeOfInline, csiVolumeOfPv, pvNotFound, vaSourceOf, VolumeSourceError } from './volume-source.js';

export interface CsiHandlerOptions {
  driver: string;
  api: AttacherApi;
  csi: AttacherCsi;
  caches: AttacherCaches;
  translator: MigrationTranslator;
  clock: Clock;
  logger: Logger;
  capabilities: PublishCapabilities;
  /** --default-fstype */
  defaultFsType: string;
  /** Feature gate MutableCSINodeAllocatableCount: save the gRPC code as attachError.errorCode. */
  saveErrorCode: boolean;
  /** Queues a VA again (used by the reconciler's force-sync). */
  enqueueVa: (name: string) => void;
  metrics: AttacherMetrics;
  uncertain: UncertainAttachments;
}

/** How long a successful unpublish is remembered while its API writes are retried. */
export const UNPUBLISHED_MEMORY_MS = 5 * 60_000;

/** Context added to an error on its way to the VA status (same wording as Go). */
function wrap(prefix: string, err: unknown): Error {
  return new Error(`${prefix}: ${errorText(err)}`, { cause: err });
}

export class CsiAttachHandler implements AttachHandler {
  readonly #o: CsiHandlerOptions;
  readonly #finalizer: string;
  readonly #log: Logger;
  /**
   * VAs the reconciler found out of sync, with the resourceVersion it judged: processed once even
   * if the status says "nothing to do", as long as the VA is still that version.
   */
  readonly #forceSync = new Map<string, string | undefined>();
  /**
   * Per VA, the versions our last completed attach or detach wrote over (the version it started
   * from and the one its metadata patch produced): a cached copy at one of them predates the write.
   */
  readonly #supersededVersions = new Map<string, ReadonlySet<string>>();
  /**
   * Per VA name, the UID whose ControllerUnpublishVolume succeeded while the API writes after it
   * did not (yet): a retry only has those writes left, and a second unpublish of a volume that
   * is no longer published is what trips drivers up (external-attacher#587). Memory only, for a
   * few minutes: after a restart the unpublish is repeated, as the Go attacher always does.
   */
  readonly #unpublished = new Map<string, { uid: string; at: number }>();

  constructor(options: CsiHandlerOptions) {
    this.#o = options;
    this.#finalizer = attacherFinalizer(options.driver);
    this.#log = options.logger;
  }

  async syncVolumeAttachment(va: VolumeAttachment): Promise<SyncResult> {
    const name = va.metadata?.name ?? '';
    const log = this.#log.withValues({ VolumeAttachment: name });
    try {
      if (va.metadata?.deletionTimestamp) await this.#syncDetach(va, log);
      else await this.#syncAttach(va, log);
      return 'ok';
    } catch (err) {
      log.v(2).info('Error processing', { err: errorText(err) });
      return 'retry';
    }
  }

  async syncPersistentVolume(pv: PersistentVolume): Promise<SyncResult> {
    const name = pv.metadata?.name ?? '';
    const log = this.#log.withValues({ PersistentVolume: name });
    if (!pv.metadata?.deletionTimestamp && !isMigrationRollback(pv, this.#o.driver, this.#o.translator)) {
      log.v(4).info('No deletion timestamp, ignoring');
      return 'ok';
    }
    if (!pv.metadata?.finalizers?.includes(this.#finalizer)) {
      log.v(4).info('No finalizer, ignoring');
      return 'ok';
    }
    const users = this.#o.caches.volumeAttachments.byIndex(VA_BY_PV_INDEX, name);
    if (users.length > 0) {
      log.v(4).info('VolumeAttachment still uses the PersistentVolume, keeping the finalizer', { VolumeAttachment: users[0]?.metadata?.name });
      return 'ok';
    }
    try {
      await this.#o.api.removePvFinalizer(pv, this.#finalizer);
      log.v(2).info('Removed finalizer from PersistentVolume');
      return 'ok';
    } catch (err) {
      log.error('Failed to remove finalizer from PersistentVolume', err);
      return 'retry';
    }
  }

  async reconcile(): Promise<void> {
    const { caches, driver } = this.#o;
    this.#log.v(4).info('Reconciling VolumeAttachments with driver backend state');
    const vas = caches.volumeAttachments.list();
    const published = await this.#o.csi.listPublishedNodes();
    const plan = planReconcile(vas, published, {
      driver,
      nodeIdOf: (va) => resolveNodeId(driver, va.spec?.nodeName ?? '', caches.csiNodes.getByName(undefined, va.spec?.nodeName ?? ''), va),
      volumeOf: (va) => this.#csiVolumeOf(va),
      translator: this.#o.translator,
    });
    for (const skipped of plan.skipped) this.#log.error('Cannot reconcile VolumeAttachment', skipped.error, { VolumeAttachment: skipped.name });
    for (const m of plan.mismatched) {
      this.#log.error('VolumeAttachment attached status and actual state do not match. Adding back to VolumeAttachment queue for forced reprocessing', undefined, {
        VolumeAttachment: m.name,
        volumeHandle: m.volumeHandle,
        attachedStatus: m.attached,
        found: m.published,
      });
      this.#forceSync.set(m.name, m.resourceVersion);
      this.#o.enqueueVa(m.name);
    }
  }

  forget(vaName: string): void {
    this.#forceSync.delete(vaName);
    this.#unpublished.delete(vaName);
    this.#supersededVersions.delete(vaName);
    this.#o.uncertain.clear(vaName);
  }

  /**
   * True (once) when the reconciler asked for this VA to be processed regardless of its status and
   * the VA has not changed since; a verdict on an older version is dropped (the next pass re-checks).
   */
  #consumeForceSync(va: VolumeAttachment): boolean {
    const name = va.metadata?.name ?? '';
    if (!this.#forceSync.has(name)) return false;
    const judged = this.#forceSync.get(name);
    this.#forceSync.delete(name);
    return judged === va.metadata?.resourceVersion;
  }

  /** Whether this cached copy is older than our last completed write to the VA. */
  #predatesOwnWrite(va: VolumeAttachment): boolean {
    const name = va.metadata?.name ?? '';
    const superseded = this.#supersededVersions.get(name);
    if (!superseded) return false;
    const rv = va.metadata?.resourceVersion;
    if (rv !== undefined && superseded.has(rv)) return true;
    // The cache has moved past our write: nothing to remember any more.
    this.#supersededVersions.delete(name);
    return false;
  }

  /** Remembers that `written` (the VA as our last write left it) supersedes the `before` versions. */
  #wrote(name: string, before: ReadonlySet<string>, written: VolumeAttachment | undefined): void {
    const rv = written?.metadata?.resourceVersion;
    // A write that changed nothing leaves the version as it was: nothing is superseded.
    if (written && (rv === undefined || before.has(rv))) return;
    if (before.size > 0) this.#supersededVersions.set(name, before);
  }

  // ---- attach ------------------------------------------------------------------------------

  async #syncAttach(va: VolumeAttachment, log: Logger): Promise<void> {
    const name = va.metadata?.name ?? '';
    const forced = this.#consumeForceSync(va);
    if (this.#predatesOwnWrite(va)) {
      log.v(4).info('Cached VolumeAttachment predates our last write, waiting for the newer version');
      return;
    }
    if (!forced && va.status?.attached) {
      log.v(4).info('VolumeAttachment is already attached');
      return;
    }
    log.v(2).info('Attaching');
    const seen = versionsOf(va);
    let publishContext: Record<string, string>;
    try {
      publishContext = await this.#csiAttach(va, log, seen);
    } catch (err) {
      await this.#saveError(name, attachErrorPatch(kubeTime(this.#o.clock.now()), errorText(err), this.#errorCodeOf(err)), log);
      throw wrap('failed to attach', err);
    }
    log.v(2).info('Attached');
    try {
      this.#wrote(name, seen, await this.#o.api.patchVaStatus(name, attachedStatusPatch(publishContext)));
    } catch (err) {
      throw wrap('failed to mark as attached', err);
    }
    if (!va.status?.attached) this.#o.metrics.observeCompleted('attach', va.metadata?.creationTimestamp);
    log.v(4).info('Fully attached');
  }

  /**
   * Everything up to and including ControllerPublish; resolves to the publish context. Adds the
   * version its metadata patch produced to `seen`.
   */
  async #csiAttach(va: VolumeAttachment, log: Logger, seen: Set<string>): Promise<Record<string, string>> {
    const { caches, api, driver } = this.#o;
    const name = va.metadata?.name ?? '';
    // Check as much as possible before the VA finalizer goes on: it blocks the VA's deletion.
    const source = vaSourceOf(va);
    let volume: CsiVolume;
    if (source.kind === 'pv') {
      let pv = caches.persistentVolumes.getByName(undefined, source.pvName);
      if (!pv) throw pvNotFound(source.pvName);
      if (pv.metadata?.deletionTimestamp) throw new VolumeSourceError(`PersistentVolume "${source.pvName}" is marked for deletion`);
      try {
        pv = await api.addPvFinalizer(pv, this.#finalizer);
      } catch (err) {
        throw wrap('could not add PersistentVolume finalizer', err);
      }
      volume = csiVolumeOfPv(pv, this.#o.translator);
    } else {
      volume = csiVolumeOfInline(source.spec);
    }

    const secrets = await this.#secretsOf(volume);
    const nodeName = va.spec?.nodeName ?? '';
    // No annotation fallback on attach: the node plugin must have registered the node.
    const nodeId = resolveNodeId(driver, nodeName, caches.csiNodes.getByName(undefined, nodeName));
    const request = publishRequestOf(volume, nodeId, secrets, this.#o.capabilities, this.#o.defaultFsType);

    try {
      const patched = await api.ensureVaAttachMetadata(va, this.#finalizer, nodeId);
      if (patched.metadata?.resourceVersion) seen.add(patched.metadata.resourceVersion);
    } catch (err) {
      throw wrap('could not save VolumeAttachment', err);
    }

    const { uncertain, clock } = this.#o;
    uncertain.mark(name, clock.now());
    try {
      const context = await this.#o.csi.publish(request, { migrated: volume.migrated });
      uncertain.clear(name);
      return context;
    } catch (err) {
      // A final error means the driver is not attaching; anything else may still be in progress.
      if (isFinalError(err)) uncertain.clear(name);
      else log.v(2).info('Attach outcome unknown, the volume may still get attached', { err: errorText(err) });
      throw err;
    }
  }

  // ---- detach ------------------------------------------------------------------------------

  async #syncDetach(va: VolumeAttachment, log: Logger): Promise<void> {
    const name = va.metadata?.name ?? '';
    const forced = this.#consumeForceSync(va);
    if (this.#predatesOwnWrite(va)) {
      log.v(4).info('Cached VolumeAttachment predates our last write, waiting for the newer version');
      return;
    }
    const finalized = va.metadata?.finalizers?.includes(this.#finalizer) ?? false;
    if (!forced && !finalized) {
      log.v(4).info('VolumeAttachment is already detached');
      return;
    }
    log.v(2).info('Detaching');
    try {
      await this.#csiDetach(va, log, forced);
    } catch (err) {
      await this.#saveError(name, detachErrorPatch(kubeTime(this.#o.clock.now()), errorText(err)), log);
      throw wrap('failed to detach', err);
    }
    if (finalized) this.#o.metrics.observeCompleted('detach', va.metadata?.deletionTimestamp);
    log.v(4).info('Fully detached');
  }

  async #csiDetach(va: VolumeAttachment, log: Logger, forced: boolean): Promise<void> {
    const { caches, driver, api } = this.#o;
    const name = va.metadata?.name ?? '';
    const uid = va.metadata?.uid ?? '';
    const done = this.#unpublished.get(name);
    const now = this.#o.clock.now();
    // The reconciler's verdict (forced: the backend says it is still published) always unpublishes.
    if (!forced && uid !== '' && done?.uid === uid && now - done.at < UNPUBLISHED_MEMORY_MS) {
      log.v(2).info('ControllerUnpublishVolume already succeeded for this VolumeAttachment; only the API writes are left');
    } else {
      const volume = this.#csiVolumeOf(va);
      const secrets = await this.#secretsOf(volume);
      const nodeName = va.spec?.nodeName ?? '';
      const nodeId = resolveNodeId(driver, nodeName, caches.csiNodes.getByName(undefined, nodeName), va);

      // Any error, NotFound included, may leave the volume attached: saved and retried.
      await this.#o.csi.unpublish(unpublishRequestOf(volume, nodeId, secrets), { migrated: volume.migrated });
      log.v(2).info('Detached');
      for (const [k, v] of this.#unpublished) if (now - v.at >= UNPUBLISHED_MEMORY_MS) this.#unpublished.delete(k);
      if (uid !== '') this.#unpublished.set(name, { uid, at: now });
    }
    this.#o.uncertain.clear(name);

    const finalized = va.metadata?.finalizers?.includes(this.#finalizer) ?? false;
    if (!finalized && !va.status?.attached) {
      log.v(4).info('Already fully detached');
      this.#unpublished.delete(name);
      return;
    }
    try {
      const seen = versionsOf(va);
      let current: VolumeAttachment | undefined = va;
      if (finalized) {
        current = await api.removeVaFinalizer(va, this.#finalizer);
        log.v(4).info('Finalizer removed');
        if (current?.metadata?.resourceVersion) seen.add(current.metadata.resourceVersion);
      }
      // Without the finalizer the API server may already have deleted the VA.
      let written: VolumeAttachment | undefined;
      if (current) {
        written = await api.patchVaStatus(name, detachedStatusPatch()).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
          return undefined;
        });
      }
      this.#wrote(name, seen, written);
      this.#unpublished.delete(name);
    } catch (err) {
      throw wrap('could not mark as detached', err);
    }
  }

  // ---- shared --------------------------------------------------------------------------------

  /** The CSI view of the VA's volume from the cache (no PV deletion check, no PV write). */
  #csiVolumeOf(va: VolumeAttachment): CsiVolume {
    const source = vaSourceOf(va);
    if (source.kind === 'inline') return csiVolumeOfInline(source.spec);
    const pv = this.#o.caches.persistentVolumes.getByName(undefined, source.pvName);
    if (!pv) throw pvNotFound(source.pvName);
    return csiVolumeOfPv(pv, this.#o.translator);
  }

  /** Data of controllerPublishSecretRef (used for publish and unpublish alike), or none. */
  async #secretsOf(volume: CsiVolume): Promise<Record<string, string>> {
    const ref = volume.csi.controllerPublishSecretRef;
    if (!ref) return {};
    const namespace = ref.namespace ?? '';
    const name = ref.name ?? '';
    try {
      return await this.#o.api.getSecretData(namespace, name);
    } catch (err) {
      throw new Error(`failed to load secret "${namespace}/${name}": ${errorText(err)}`, { cause: err });
    }
  }

  #errorCodeOf(err: unknown): number | undefined {
    // Only a gRPC status has a code (Go: status.FromError); our own errors leave it unset.
    if (!this.#o.saveErrorCode || !(err instanceof CsiCallError)) return undefined;
    return err.code;
  }

  /** Saving an error is best effort: a failure is logged, the original error still retried. */
  async #saveError(name: string, patch: Record<string, unknown>, log: Logger): Promise<void> {
    try {
      await this.#o.api.patchVaStatus(name, patch);
    } catch (err) {
      log.v(2).info('Failed to save error to VolumeAttachment', { err: errorText(err) });
    }
  }
}

/** The VA's resourceVersion as a set (empty when it has none). */
function versionsOf(va: VolumeAttachment): Set<string> {
  const rv = va.metadata?.resourceVersion;
  return new Set(rv ? [rv] : []);
}
