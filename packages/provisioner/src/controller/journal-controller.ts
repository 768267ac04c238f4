// Replays the provisioning journal: every entry is a volume that may exist on the backend with
// no PV describing it. On start (which is also when leadership is won) every entry is looked at;
// after that, entries whose claim goes away, and all of them again every resync period.
//
// For each entry not being worked on by this process right now:
//   - the claim still wants the volume (exists, not being deleted, not bound elsewhere) and no
//     PV exists yet → nothing to do here: the claim controller provisions it (CreateVolume with
//     the same name is idempotent) and settles the entry once the PV is saved;
//   - otherwise CreateVolume is repeated with the recorded request to learn what the name holds
//     (CSI makes CreateVolume idempotent on the name for exactly this), then:
//       · the volume is the one the existing PV describes → the PV owns it: settle;
//       · any other volume → DeleteVolume, then settle;
//       · the driver answers with a final error → nothing was created: settle.
//   - the PV exists, was created after the entry, and is being deleted by the volume controller
//     (Released, policy Delete) → left to it: it removes the entry once DeleteVolume succeeded.
// Settlements here are written promptly (with the shard's next batch), not lazily.
// An entry is removed only on one of those outcomes; everything else is retried with backoff.
//
// Entries live as annotations on shard Leases (journal-entry.ts); the work queue holds claim
// UIDs, and an update of a shard enqueues only the claims whose entries it added or changed.
// Entries this process settled whose removal is not written yet (the journal writes removals
// lazily) are skipped.
//
// The same controller removes a leftover protection finalizer (--provisioning-protection-finalizer)
// from a claim with no entry.

import {
  CsiCallError,
  GrpcCode,
  RateLimitingQueue,
  isNotFound,
  runWorkers,
  sidecarRateLimiter,
} from '@csi-sidecars-ts/shared';
import type {
  Clock,
  ControllerClient,
  Disposable,
  Informer,
  KubeObject,
  Lease,
  Logger,
  PersistentVolume,
  PersistentVolumeClaim,
  WorkQueueMetricsProvider,
  WorkResult,
} from '@csi-sidecars-ts/shared';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { ProvisionerApi } from '../adapters/kube-api.js';
import { PROVISIONING_PROTECTION_FINALIZER } from './constants.js';
import { JournalEntryError, changedEntryKeys, entryClaimUids, entryFromLease, entryKeyClaimUid, entryKeys, entryKeysMayBelongTo, journalEntryKey, replayRequest } from './journal-entry.js';
import type { JournalEntry } from './journal-entry.js';
import { pvDescribesVolume, volumeHandleOf } from './migration.js';
import { entryPredatesVolume } from './provisioning-journal.js';
import type { ProvisioningJournal } from './provisioning-journal.js';
import { secretData } from './provisioner.js';
import type { RecentlyDeletedVolumes } from './recently-deleted.js';
import { shouldDeleteVolume } from './volume-decision.js';

export const JOURNAL_QUEUE = 'provisioning-journal';
export const JOURNAL_RESYNC_PERIOD_MS = 5 * 60_000;
export const JOURNAL_CLAIM_UID_INDEX = 'claimUid';
export const JOURNAL_WORKERS = 4;
export const JOURNAL_ENTRIES_METRIC = 'csi_provisioner_journal_entries';
export const JOURNAL_RECOVERIES_METRIC = 'csi_provisioner_journal_recoveries_total';

/** Index function for the journal informer: shard Leases by the claim UIDs of their entries. */
export function journalClaimUidIndex(obj: KubeObject): string[] {
  return entryClaimUids(obj as Lease);
}

/** How an entry was settled by the controller. */
export type JournalRecovery = 'pv-owns-volume' | 'orphan-deleted' | 'nothing-created';

export interface JournalControllerOptions {
  driverName: string;
  /** Node-deployment mode: only this node's entries. */
  nodeName?: string;
  /** --timeout for the CSI calls. */
  timeoutMs: number;
  retryIntervalStartMs: number;
  retryIntervalMaxMs: number;
  resyncPeriodMs?: number;
  workers?: number;
}

export interface JournalControllerDeps {
  journal: ProvisioningJournal;
  leases: Informer<Lease>;
  claims: Informer<PersistentVolumeClaim>;
  claimByUid(uid: string): PersistentVolumeClaim | undefined;
  volume(name: string): PersistentVolume | undefined;
  api: Pick<ProvisionerApi, 'getClaim' | 'getSecret'>;
  csi: Pick<ControllerClient, 'createVolume' | 'deleteVolume'>;
  /** This process is working on the claim (a provisioning or a PV save in flight or being retried). */
  busy(claimUid: string, pvName: string): boolean;
  recentlyDeleted: RecentlyDeletedVolumes;
  clock: Clock;
  logger: Logger;
  queueMetrics?: WorkQueueMetricsProvider;
  registry?: Registry;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Whether the claim may still get this volume from the claim controller. */
export function claimWantsVolume(claim: PersistentVolumeClaim | undefined, pvName: string): boolean {
  if (!claim || claim.metadata?.deletionTimestamp) return false;
  const bound = claim.spec?.volumeName;
  return !bound || bound === pvName;
}

export class JournalController implements Disposable {
  readonly queue: RateLimitingQueue<string>;
  readonly #deps: JournalControllerDeps;
  readonly #opts: JournalControllerOptions;
  readonly #log: Logger;
  readonly #recoveries: Counter<'outcome'> | undefined;
  readonly #handlers: Disposable[] = [];
  /** Lease versions already reported as unreadable (one error line per version). */
  readonly #reportedBad = new Set<string>();

  constructor(deps: JournalControllerDeps, opts: JournalControllerOptions) {
    this.#deps = deps;
    this.#opts = opts;
    this.#log = deps.logger.withName('journal-controller');
    this.queue = new RateLimitingQueue<string>({
      name: JOURNAL_QUEUE,
      clock: deps.clock,
      metrics: deps.queueMetrics,
      rateLimiter: sidecarRateLimiter(opts.retryIntervalStartMs, opts.retryIntervalMaxMs),
    });
    if (!deps.leases.store.hasIndexer(JOURNAL_CLAIM_UID_INDEX)) deps.leases.store.addIndexer(JOURNAL_CLAIM_UID_INDEX, journalClaimUidIndex);
    if (deps.registry) {
      const registers = [deps.registry];
      const leases = deps.leases;
      // A new controller (a new leadership term) takes the metrics over.
      deps.registry.removeSingleMetric(JOURNAL_ENTRIES_METRIC);
      deps.registry.removeSingleMetric(JOURNAL_RECOVERIES_METRIC);
      new Gauge({
        name: JOURNAL_ENTRIES_METRIC,
        help: 'Volumes that may exist on the storage backend without a PersistentVolume yet (provisioning journal entries of this driver).',
        registers,
        collect() {
          let entries = 0;
          for (const lease of leases.store.list()) entries += entryKeys(lease).length;
          this.set(entries);
        },
      });
      this.#recoveries = new Counter({
        name: JOURNAL_RECOVERIES_METRIC,
        help: 'Provisioning journal entries settled by replaying CreateVolume, by outcome (pv-owns-volume, orphan-deleted, nothing-created).',
        labelNames: ['outcome'] as const,
        registers,
      });
    }
  }

  /** Registers the handlers and runs the workers until `signal` aborts. */
  run(signal: AbortSignal): Promise<void> {
    const enqueueAll = (l: Lease) => {
      for (const uid of entryClaimUids(l)) this.queue.add(uid);
    };
    // A shard write changes a few entries among many: only those are looked at (a resync
    // delivers the same version, and then all of them are).
    const enqueueChanged = (old: Lease, l: Lease) => {
      if (old === l || old.metadata?.resourceVersion === l.metadata?.resourceVersion) return enqueueAll(l);
      const uids = new Set<string>();
      for (const key of changedEntryKeys(old, l)) {
        try {
          uids.add(entryKeyClaimUid(key) ?? entryFromLease(l, key).claim.uid);
        } catch {
          // Unreadable: reported when its claim's entries are looked at (a resync finds it).
        }
      }
      for (const uid of uids) this.queue.add(uid);
    };
    this.#handlers.push(
      this.#deps.leases.addEventHandler(
        { onAdd: enqueueAll, onUpdate: enqueueChanged },
        { resyncPeriodMs: this.#opts.resyncPeriodMs ?? JOURNAL_RESYNC_PERIOD_MS, name: 'journal-controller' },
      ),
    );
    // A claim that goes away (or starts to) may leave an entry to clean up now, not at the next resync.
    const onClaim = (c: PersistentVolumeClaim) => {
      const uid = c.metadata?.uid;
      if (!uid) return;
      const hasEntry = this.#deps.leases.store.byIndex(JOURNAL_CLAIM_UID_INDEX, uid).length > 0;
      if (hasEntry || (c.metadata?.finalizers ?? []).includes(PROVISIONING_PROTECTION_FINALIZER)) this.queue.add(uid);
    };
    this.#handlers.push(
      this.#deps.claims.addEventHandler(
        {
          onUpdate: (_o, c) => {
            if (c.metadata?.deletionTimestamp || (c.metadata?.finalizers ?? []).includes(PROVISIONING_PROTECTION_FINALIZER)) onClaim(c);
          },
          onDelete: (c) => onClaim('tombstone' in c ? c.lastKnown : c),
        },
        { name: 'journal-controller' },
      ),
    );
    return runWorkers(this.queue, this.#opts.workers ?? JOURNAL_WORKERS, (uid, sig) => this.reconcile(uid, sig), signal, { logger: this.#log });
  }

  dispose(): void {
    for (const h of this.#handlers.splice(0)) void h.dispose();
    this.queue.shutDown();
  }

  /** One look at the entry (and finalizer) of one claim UID. */
  async reconcile(uid: string, signal: AbortSignal): Promise<WorkResult> {
    const journal = this.#deps.journal;
    if (!journal.enabled) return undefined;
    const leases = this.#deps.leases.store.byIndex(JOURNAL_CLAIM_UID_INDEX, uid);
    const seen = new Set<string>();
    let live = false;
    for (const lease of leases) {
      for (const key of entryKeysMayBelongTo(lease, uid)) {
        if (seen.has(key)) continue;
        let entry: JournalEntry;
        try {
          entry = entryFromLease(lease, key);
        } catch (err) {
          const version = `${lease.metadata?.name}@${lease.metadata?.resourceVersion}/${key}`;
          if (!this.#reportedBad.has(version)) {
            this.#reportedBad.add(version);
            this.#log.error('Unreadable provisioning journal entry; leaving it alone', err instanceof JournalEntryError ? undefined : err, { lease: lease.metadata?.name, key, err: errorText(err) });
          }
          continue;
        }
        if (entry.claim.uid !== uid) continue;
        // The same entry may sit in two shards (a rewrite after a failed removal): one look does.
        seen.add(journalEntryKey(entry.claim.uid, entry.pvName));
        if (journal.isSettled(entry)) continue;
        // Another node's (or driver's) entry still protects the claim: its finalizer stays.
        live = true;
        if (entry.driver !== this.#opts.driverName || (entry.node ?? '') !== (this.#opts.nodeName ?? '')) continue;
        const result = await this.#replay(entry, signal);
        if (result) return result;
      }
    }
    if (!live) return this.#leftoverFinalizer(uid, signal);
    return undefined;
  }

  async #leftoverFinalizer(uid: string, signal: AbortSignal): Promise<WorkResult> {
    const claim = this.#deps.claimByUid(uid);
    if (!claim || !(claim.metadata?.finalizers ?? []).includes(PROVISIONING_PROTECTION_FINALIZER)) return undefined;
    const pvName = claim.spec?.volumeName ?? '';
    if (this.#deps.busy(uid, pvName)) return { requeue: 'rateLimited' };
    await this.#deps.journal.removeFinalizer({ namespace: claim.metadata?.namespace ?? '', name: claim.metadata?.name ?? '', uid }, signal);
    return undefined;
  }

  async #replay(entry: JournalEntry, signal: AbortSignal): Promise<WorkResult> {
    const { pvName } = entry;
    const claimKey = `${entry.claim.namespace}/${entry.claim.name}`;
    const log = this.#log.withValues({ pv: pvName, claim: claimKey });
    if (this.#deps.busy(entry.claim.uid, pvName)) {
      // Look again later (with backoff): the work may end without settling the entry.
      log.v(5).info('Claim is being worked on; journal entry left to it for now');
      return { requeue: 'rateLimited' };
    }
    const pv = this.#deps.volume(pvName);
    if (pv && shouldDeleteVolume(pv) && pv.spec?.claimRef?.uid === entry.claim.uid && entryPredatesVolume(entry, pv)) {
      // The volume controller is deleting this PV's volume and removes the entry before the PV
      // goes (settleVolumeDeleted): a CreateVolume now could re-create what it just deleted.
      log.v(5).info('PersistentVolume is being deleted; journal entry left to the delete path');
      return undefined;
    }
    const cached = this.#deps.claimByUid(entry.claim.uid);
    if (!pv && claimWantsVolume(cached, pvName)) {
      log.v(5).info('Claim still wants its volume; journal entry left to the claim controller');
      return undefined;
    }
    if (!pv && !cached) {
      // Gone from the cache: make sure it is gone from the API too before cleaning up after it.
      try {
        const fresh = await this.#deps.api.getClaim(entry.claim.namespace, entry.claim.name, signal);
        if (fresh.metadata?.uid === entry.claim.uid && claimWantsVolume(fresh, pvName)) {
          log.v(4).info('Claim exists although not cached yet; journal entry left to the claim controller');
          return { requeueAfterMs: this.#opts.retryIntervalMaxMs };
        }
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }

    let secrets: Record<string, string> | undefined;
    if (entry.secretRef) {
      try {
        secrets = secretData((await this.#deps.api.getSecret(entry.secretRef.namespace, entry.secretRef.name, signal)).data);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        log.warn('Provisioner secret of a journal entry is gone; replaying without it', { secret: `${entry.secretRef.namespace}/${entry.secretRef.name}` });
      }
    }

    let volumeId: string;
    try {
      const request = replayRequest(entry.request);
      if (secrets) request.secrets = secrets;
      const res = await this.#deps.csi.createVolume(request, { timeoutMs: this.#opts.timeoutMs, signal });
      volumeId = res.volume?.volume_id ?? '';
    } catch (err) {
      if (err instanceof CsiCallError && err.isFinal && err.code !== GrpcCode.AlreadyExists) {
        log.info('Driver refused the recorded CreateVolume for good: no volume to clean up', { err: err.message });
        return this.#settled(entry, 'nothing-created', signal);
      }
      // AlreadyExists: a volume of this name exists but the driver will not tell us its id.
      // Nothing safe to do but try again (and say so).
      log.error('Cannot learn the volume behind a journal entry; will retry', err);
      return { requeue: 'rateLimited' };
    }
    if (volumeId === '') throw new Error(`CreateVolume for journal entry ${pvName} returned no volume id`);

    const handle = pv ? volumeHandleOf(pv) : undefined;
    // The volume controller deleted this PV's volume while the CreateVolume was under way (it
    // looked before the PV was Released): what came back is a re-creation nobody else owns.
    const recreated = pv !== undefined && this.#deps.recentlyDeleted.hasVolumeOf(pvName, pv.metadata?.uid);
    if (pv && !recreated && pvDescribesVolume(pv, { driverName: this.#opts.driverName, volumeId, claimUid: entry.claim.uid })) {
      log.v(2).info('The volume of the journal entry is described by its PersistentVolume', { volumeHandle: handle });
      return this.#settled(entry, 'pv-owns-volume', signal);
    }
    if (!pv && claimWantsVolume(this.#deps.claimByUid(entry.claim.uid), pvName)) {
      // The claim came back into view meanwhile (it cannot, for a UID, unless the cache lagged):
      // leave the volume to it rather than deleting what it is about to use.
      return { requeueAfterMs: this.#opts.retryIntervalMaxMs };
    }
    try {
      await this.#deps.csi.deleteVolume({ volume_id: volumeId, secrets: secrets ?? {} }, { timeoutMs: this.#opts.timeoutMs, signal });
    } catch (err) {
      log.error('Failed to delete a volume no PersistentVolume describes; will retry', err, { volumeId });
      return { requeue: 'rateLimited' };
    }
    this.#deps.recentlyDeleted.add(pvName);
    log.info('Deleted a volume that was created for a claim but never got a PersistentVolume', {
      volumeId,
      existingPv: pv ? `${pv.metadata?.name} (volume ${handle ?? '<none>'})` : null,
    });
    return this.#settled(entry, 'orphan-deleted', signal);
  }

  async #settled(entry: JournalEntry, outcome: JournalRecovery, signal: AbortSignal): Promise<WorkResult> {
    this.#recoveries?.inc({ outcome });
    // Written with the shard's next batch, not after the removal delay: a process that keeps
    // restarting would otherwise replay (one CreateVolume each) the same entries every time.
    await this.#deps.journal.settle(entry, outcome, signal, { prompt: true });
    return undefined;
  }
}
