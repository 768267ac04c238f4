// Writing and removing provisioning journal entries (see journal-entry.ts for what they are),
// with group commit: entries live as annotations on a few shard Leases, and one Lease write
// carries every entry queued while the previous write to that shard was in flight. A write is
// a PUT of the shard as this process last wrote (or cached) it, with the queued additions and
// removals applied; a conflict (another writer: a previous leader still finishing) re-reads the
// shard and applies them again, so no writer's entries are lost. Update, not patch: the Go
// provisioner's RBAC grants no patch on leases.
//   record(): before CreateVolume. Resolves only once a write holding the entry succeeded (a
//             write-ahead: a volume must never exist that no durable record knows about). A
//             failed write fails exactly the records it carried; they are retried by their
//             callers. No RBAC for Leases (403) turns the journal off with one loud warning:
//             the sidecar then behaves like the Go one instead of provisioning nothing.
//   settle(): once a PV describes the volume, or the backend confirmed there is none. Lazy:
//             the removal rides on the shard's next write, or a write of its own after
//             `removalDelayMs`. An entry left behind (a crash before that write) costs one
//             idempotent CreateVolume at replay, which finds its PV and settles it.
//             `{ prompt: true }` (replay) writes the removal with the shard's next batch
//             instead of after the delay: a crash loop never reaches a 5 s timer.
//   settleVolumeDeleted(): the delete path, after DeleteVolume and before the PV goes away.
//             An entry still stored for that PV (a lazy removal a crash lost, an earlier
//             process's) is removed durably first: once the PV is gone, a replay of it would
//             create a volume only to delete it. No entry (the usual case): no write.
// With --provisioning-protection-finalizer, record() also puts a finalizer on the claim and
// settle() takes it off, so deleting the claim waits for the outcome (KEP-2994's design).

import { KubeApiError, isAlreadyExists, isConflict, isForbidden, isNotFound, onSignalAbort, retryOnConflict } from '@csi-sidecars-ts/shared';
import type { Clock, CreateVolumeRequest, Lease, Logger, PersistentVolume, PersistentVolumeClaim, TimerHandle } from '@csi-sidecars-ts/shared';
import type { JournalApi } from '../adapters/journal-api.js';
import type { ProvisionerApi } from '../adapters/kube-api.js';
import { PROVISIONING_PROTECTION_FINALIZER } from './constants.js';
import {
  JOURNAL_ENTRY_VERSION,
  JOURNAL_SHARD_BUDGET_BYTES,
  entryFromLease,
  entryKeys,
  entrySize,
  entryText,
  journalEntryKey,
  journalShardName,
  sameEntry,
  shardLabels,
  shardLease,
  storedRequest,
} from './journal-entry.js';
import type { JournalEntry } from './journal-entry.js';
import type { SecretReference } from './secrets.js';

export interface ProvisioningJournalOptions {
  /** Where the entries live: the leader-election namespace. */
  namespace: string;
  driverName: string;
  /** Written into each shard Lease's holderIdentity (for people reading it). */
  holder: string;
  /** Node-deployment mode: this node (its journal has shards of its own). */
  node?: string;
  protectionFinalizer: boolean;
  /** How long a settled entry waits for another write to carry its removal (default 5 s). */
  removalDelayMs?: number;
  /** Bytes of entries a shard takes before the next shard is used (default 192 KiB). */
  shardBudgetBytes?: number;
  /** How long the first record after a quiet spell waits for others to share its write (default 20 ms; 0: one event-loop turn). */
  batchWindowMs?: number;
}

export interface ProvisioningJournalDeps {
  api: JournalApi;
  claims: Pick<ProvisionerApi, 'getClaim' | 'updateClaim'>;
  /** The journal's shard Leases as the informer has them. */
  leases(): readonly Lease[];
  clock: Clock;
  logger: Logger;
}

export const JOURNAL_REMOVAL_DELAY_MS = 5_000;
export const JOURNAL_BATCH_WINDOW_MS = 20;
/** Conflicting writes in a row before a write gives up (and its records fail, to be retried). */
const MAX_CONFLICTS = 5;
/** How long a settled entry's cached copy is distrusted once its removal was written. */
const REMOVED_MEMORY_MS = 60_000;
/** How often at most settled keys older than REMOVED_MEMORY_MS are swept from memory. */
const FORGET_SWEEP_MS = 1_000;

/** The journal could not record an entry: the CreateVolume must not happen yet. */
export class JournalWriteError extends Error {
  override readonly name = 'JournalWriteError';
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The apiserver refused the write because the Lease's annotations would be too large. */
function isTooLarge(err: unknown): boolean {
  return err instanceof KubeApiError && err.code === 422 && /annotations/i.test(err.message);
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/** Slack for comparing the sidecar's clock (an entry's startedAt) with the apiserver's (second resolution). */
const CLOCK_SLACK_MS = 1_000;

/**
 * Whether `entry` was recorded before `pv` was created, i.e. it protected the volume `pv`
 * describes. An entry recorded later for the same name is a stray's (a second CreateVolume
 * while the PV existed, external-provisioner #1469): only a replay can tell which volume it
 * holds, so it is left to the replay. Unknown times count as "not before".
 */
export function entryPredatesVolume(entry: Pick<JournalEntry, 'startedAt'>, pv: PersistentVolume): boolean {
  const started = Date.parse(entry.startedAt);
  const created = pv.metadata?.creationTimestamp;
  const createdMs = created === undefined ? NaN : new Date(created as string | Date).getTime();
  return Number.isFinite(started) && Number.isFinite(createdMs) && started <= createdMs + CLOCK_SLACK_MS;
}

interface PendingAdd {
  entry: JournalEntry;
  text: string;
  waiters: Waiter[];
}

/** One shard Lease and the writes queued for it (one write in flight at a time). */
class Shard {
  /** Bytes of each entry the Lease holds or is about to hold, as far as this process knows. */
  readonly sizes = new Map<string, number>();
  bytes = 0;
  adds = new Map<string, PendingAdd>();
  removes = new Set<string>();
  inFlightRemoves: ReadonlySet<string> = new Set();
  /** Set when pending removals should be written even without an entry to add. */
  removalsDue = false;
  /** Callers waiting for the removal of a key to be written (settleVolumeDeleted). */
  removalWaiters = new Map<string, Waiter[]>();
  full = false;
  running: Promise<void> | undefined;
  timer: TimerHandle | undefined;

  constructor(
    readonly name: string,
    /** The Lease as last written or read (undefined: not known to exist, so create it). */
    public lease: Lease | undefined,
  ) {}

  setSize(key: string, size: number): void {
    this.bytes += size - (this.sizes.get(key) ?? 0);
    this.sizes.set(key, size);
  }

  dropSize(key: string): void {
    this.bytes -= this.sizes.get(key) ?? 0;
    this.sizes.delete(key);
  }
}

export class ProvisioningJournal {
  readonly #opts: ProvisioningJournalOptions;
  readonly #deps: ProvisioningJournalDeps;
  readonly #log: Logger;
  readonly #budget: number;
  readonly #removalDelayMs: number;
  readonly #batchWindowMs: number;
  /** Shards by Lease name. */
  readonly #shards = new Map<string, Shard>();
  /** Entries this process wrote and has not settled, by key (spares the API a write per retry). */
  readonly #written = new Map<string, { entry: JournalEntry; shard: Shard }>();
  /** Entries settled whose removal is not written yet, as last written (a new record may just keep them). */
  readonly #settling = new Map<string, { entry: JournalEntry; shard: Shard }>();
  /** The shard an entry key was last queued to (until its removal is written). */
  readonly #home = new Map<string, Shard>();
  /** Settled keys whose cached copy is not to be trusted, with when their removal was written (0: not yet). */
  readonly #settled = new Map<string, number>();
  #writes = 0;
  #lastForget = -Infinity;
  #enabled = true;
  #closed = false;

  constructor(options: ProvisioningJournalOptions, deps: ProvisioningJournalDeps) {
    this.#opts = options;
    this.#deps = deps;
    this.#log = deps.logger.withName('provisioning-journal');
    this.#budget = options.shardBudgetBytes ?? JOURNAL_SHARD_BUDGET_BYTES;
    this.#removalDelayMs = options.removalDelayMs ?? JOURNAL_REMOVAL_DELAY_MS;
    this.#batchWindowMs = options.batchWindowMs ?? JOURNAL_BATCH_WINDOW_MS;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  get namespace(): string {
    return this.#opts.namespace;
  }

  get protectionFinalizer(): boolean {
    return this.#enabled && this.#opts.protectionFinalizer;
  }

  /** Lease writes made so far (tests and diagnostics). */
  get writes(): number {
    return this.#writes;
  }

  /** Turns the journal off for the rest of the process (Go behaviour), saying why once. */
  disable(reason: string): void {
    if (!this.#enabled) return;
    this.#enabled = false;
    this.#log.error(
      `PROVISIONING JOURNAL DISABLED: ${reason}. A restart between CreateVolume and saving the PV can now leak volumes, as with the Go provisioner; ` +
        `grant get, list, watch, create, update and delete on coordination.k8s.io leases in namespace ${this.#opts.namespace} to fix it`,
    );
    // Whoever waits for a write provisions unrecorded now, as the Go provisioner does.
    for (const shard of this.#shards.values()) {
      for (const add of shard.adds.values()) for (const w of add.waiters) w.resolve();
      shard.adds.clear();
      shard.removes.clear();
      for (const ws of shard.removalWaiters.values()) for (const w of ws) w.resolve();
      shard.removalWaiters.clear();
      if (shard.timer !== undefined) this.#deps.clock.clearTimeout(shard.timer);
      shard.timer = undefined;
    }
  }

  /** The annotation key of the entry for `pvName` of claim `claimUid`. */
  entryKey(entry: Pick<JournalEntry, 'pvName' | 'claim'>): string {
    return journalEntryKey(entry.claim.uid, entry.pvName);
  }

  /** The entry describing the CreateVolume about to be made for `claim`. */
  entryFor(claim: PersistentVolumeClaim, request: CreateVolumeRequest, storageClass: string, secretRef: SecretReference | undefined): JournalEntry {
    const entry: JournalEntry = {
      version: JOURNAL_ENTRY_VERSION,
      driver: this.#opts.driverName,
      pvName: request.name ?? '',
      claim: { namespace: claim.metadata?.namespace ?? '', name: claim.metadata?.name ?? '', uid: claim.metadata?.uid ?? '' },
      storageClass,
      request: storedRequest(request),
      startedAt: new Date(this.#deps.clock.now()).toISOString(),
    };
    if (this.#opts.node) entry.node = this.#opts.node;
    if (secretRef) entry.secretRef = { name: secretRef.name, namespace: secretRef.namespace };
    return entry;
  }

  /** Makes sure `entry` is durably recorded; throws JournalWriteError when it cannot be. */
  async record(entry: JournalEntry, signal?: AbortSignal): Promise<void> {
    if (!this.#enabled) return;
    const key = this.entryKey(entry);
    const settling = this.#settling.get(key);
    if (settling && sameEntry(settling.entry, entry) && settling.shard.removes.has(key)) {
      // Settled, but the removal is not written yet (a retry after a final error): the entry
      // is still stored, as it was; keeping it costs no write.
      settling.shard.removes.delete(key);
      this.#settling.delete(key);
      this.#settled.delete(key);
      this.#written.set(key, settling);
    }
    const known = this.#written.get(key);
    if (!known || !sameEntry(known.entry, entry)) {
      this.#settled.delete(key);
      await this.#append(key, { ...entry, startedAt: known?.entry.startedAt ?? entry.startedAt }, signal);
      this.#log.v(4).info('Recorded', { pv: entry.pvName, claim: `${entry.claim.namespace}/${entry.claim.name}` });
    }
    if (this.#opts.protectionFinalizer && this.#enabled) {
      try {
        await this.#setFinalizer(entry.claim, true, signal);
      } catch (err) {
        throw new JournalWriteError(`cannot add finalizer ${PROVISIONING_PROTECTION_FINALIZER} to claim ${entry.claim.namespace}/${entry.claim.name}: ${errorText(err)}`, { cause: err });
      }
    }
  }

  /**
   * Removes the entry of `pvName` (and the claim's protection finalizer). The removal is
   * written lazily (see the top of this file). Never throws.
   */
  async settle(entry: Pick<JournalEntry, 'pvName' | 'claim'>, reason: string, signal?: AbortSignal, opts: { prompt?: boolean } = {}): Promise<void> {
    if (!this.#enabled) return;
    const shards = this.#settle(entry, reason);
    if (opts.prompt) for (const shard of shards) this.#removeSoon(shard);
    if (this.#opts.protectionFinalizer) await this.removeFinalizer(entry.claim, signal);
  }

  /**
   * The volume `pv` describes was deleted (DeleteVolume succeeded) and the PV object is about
   * to be deleted: removes a journal entry still stored for it, and resolves once that removal
   * is written (group-committed with the shard's other writes). No entry: resolves at once,
   * with no write (false). Left alone: an entry a provisioning of this process is working with,
   * and one recorded after the PV was created (a stray's, see entryPredatesVolume). Throws
   * JournalWriteError when the write fails (the caller retries).
   */
  async settleVolumeDeleted(pv: PersistentVolume, signal?: AbortSignal): Promise<boolean> {
    const pvName = pv.metadata?.name ?? '';
    const ref = pv.spec?.claimRef;
    if (!this.#enabled || !pvName || !ref?.uid) return false;
    const entry = { pvName, claim: { namespace: ref.namespace ?? '', name: ref.name ?? '', uid: ref.uid } };
    const key = this.entryKey(entry);
    if (this.#written.has(key)) return false;
    const queued = [...this.#shards.values()];
    if (queued.some((s) => s.adds.has(key))) return false;
    const ours = this.#home.has(key) || queued.some((s) => s.removes.has(key) || s.inFlightRemoves.has(key));
    if (!ours) {
      // An earlier process's entry, unless this process wrote its removal already (cache lag).
      if ((this.#settled.get(key) ?? 0) > 0) return false;
      const copies = this.#deps.leases().filter((l) => l.metadata?.annotations?.[key] !== undefined);
      if (copies.length === 0) return false;
      for (const lease of copies) {
        let stored: JournalEntry;
        try {
          stored = entryFromLease(lease, key);
        } catch {
          return false; // Unreadable: the journal controller reports it and leaves it alone.
        }
        if (stored.claim.uid !== ref.uid || !entryPredatesVolume(stored, pv)) return false;
      }
    }
    const shards = this.#settle(entry, 'volume deleted');
    const written: Promise<void>[] = [];
    for (const shard of shards) {
      if (!shard.removes.has(key)) continue;
      written.push(
        new Promise<void>((resolve, reject) => {
          const waiters = shard.removalWaiters.get(key) ?? [];
          waiters.push({ resolve, reject });
          shard.removalWaiters.set(key, waiters);
        }),
      );
      this.#removeSoon(shard);
    }
    if (signal) {
      let unlisten: (() => void) | undefined;
      const aborted = new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        else unlisten = onSignalAbort(signal, () => reject(signal.reason));
      });
      aborted.catch(() => undefined);
      try {
        await Promise.race([Promise.all(written), aborted]);
      } finally {
        // The worker's signal lives as long as the process: leave no listener on it.
        unlisten?.();
      }
    } else {
      await Promise.all(written);
    }
    if (this.#opts.protectionFinalizer) await this.removeFinalizer(entry.claim, signal);
    return written.length > 0;
  }

  /** Marks the entry settled and queues its removal on every shard holding it; returns those shards. */
  #settle(entry: Pick<JournalEntry, 'pvName' | 'claim'>, reason: string): Set<Shard> {
    const key = this.entryKey(entry);
    const written = this.#written.get(key);
    this.#written.delete(key);
    if (written) this.#settling.set(key, written);
    this.#forgetOldSettlements();
    this.#settled.delete(key);
    this.#settled.set(key, 0);
    const shards = new Set<Shard>();
    const home = this.#home.get(key);
    if (home) shards.add(home);
    // Entries of an earlier process (or another writer) are found in the cached shards.
    for (const lease of this.#deps.leases()) {
      const name = lease.metadata?.name;
      if (name && lease.metadata?.annotations?.[key] !== undefined) shards.add(this.#shardNamed(name));
    }
    for (const shard of shards) {
      // A record queued meanwhile is newer than this settlement: it stays.
      if (shard.adds.has(key)) {
        shards.delete(shard);
        continue;
      }
      shard.removes.add(key);
      this.#scheduleRemovals(shard);
    }
    this.#log.v(4).info('Settled', { pv: entry.pvName, reason });
    return shards;
  }

  /** Writes the shard's pending removals with its next batch rather than after the delay. */
  #removeSoon(shard: Shard): void {
    shard.removalsDue = true;
    this.#kick(shard);
  }

  /**
   * Whether this process settled the entry and has not recorded it again: its cached copy (a
   * removal not yet written, or a watch event not yet seen) is no record of anything.
   */
  isSettled(entry: Pick<JournalEntry, 'pvName' | 'claim'>): boolean {
    const key = this.entryKey(entry);
    if (this.#written.has(key)) return false;
    const at = this.#settled.get(key);
    if (at === undefined) return false;
    return at === 0 || this.#deps.clock.now() - at < REMOVED_MEMORY_MS;
  }

  /** Writes every pending removal now (shutdown, tests); resolves when done or failed. */
  async flush(): Promise<void> {
    const drains: Promise<void>[] = [];
    for (const shard of this.#shards.values()) {
      if (shard.removes.size === 0 && shard.adds.size === 0 && !shard.running) continue;
      if (shard.timer !== undefined) this.#deps.clock.clearTimeout(shard.timer);
      shard.timer = undefined;
      shard.removalsDue = true;
      drains.push(this.#drain(shard));
    }
    await Promise.all(drains);
  }

  /** Stops the removal timers (pending removals stay for the next process to find). */
  close(): void {
    this.#closed = true;
    for (const shard of this.#shards.values()) {
      if (shard.timer !== undefined) this.#deps.clock.clearTimeout(shard.timer);
      shard.timer = undefined;
    }
  }

  /** Takes the protection finalizer off the claim (if it is still this claim). Never throws. */
  async removeFinalizer(claim: JournalEntry['claim'], signal?: AbortSignal): Promise<void> {
    try {
      await this.#setFinalizer(claim, false, signal);
    } catch (err) {
      this.#log.warn('Could not remove the provisioning protection finalizer; will retry', { claim: `${claim.namespace}/${claim.name}`, err: errorText(err) });
    }
  }

  #forgetOldSettlements(): void {
    // Memory hygiene only (isSettled checks the time itself): one sweep a second, not one per
    // settlement, which made a burst's settlements quadratic.
    const now = this.#deps.clock.now();
    if (now - this.#lastForget < FORGET_SWEEP_MS) return;
    this.#lastForget = now;
    const cutoff = now - REMOVED_MEMORY_MS;
    for (const [key, at] of this.#settled) {
      if (at !== 0 && at <= cutoff) this.#settled.delete(key);
    }
  }

  #shardNamed(name: string): Shard {
    let shard = this.#shards.get(name);
    if (!shard) {
      const cached = this.#deps.leases().find((l) => l.metadata?.name === name);
      shard = new Shard(name, cached);
      // Entries already in it (an earlier process's) count against its size.
      for (const key of cached ? entryKeys(cached) : []) shard.setSize(key, entrySize(key, cached?.metadata?.annotations?.[key] ?? ''));
      this.#shards.set(name, shard);
    }
    return shard;
  }

  /** The first shard with room for `size` more bytes (an empty shard takes any entry). */
  #pickShard(size: number): Shard {
    for (let i = 0; ; i++) {
      const shard = this.#shardNamed(journalShardName(this.#opts.driverName, i, this.#opts.node));
      if (!shard.full && (shard.bytes + size <= this.#budget || shard.sizes.size === 0)) return shard;
    }
  }

  #append(key: string, entry: JournalEntry, signal?: AbortSignal, shard?: Shard, waiters: Waiter[] = []): Promise<void> {
    const text = entryText(entry);
    const target = shard ?? this.#home.get(key) ?? this.#pickShard(entrySize(key, text));
    let promise: Promise<void> | undefined;
    if (waiters.length === 0) {
      promise = new Promise<void>((resolve, reject) => {
        if (!signal) {
          waiters.push({ resolve, reject });
          return;
        }
        const onAbort = () => {
          const pending = target.adds.get(key);
          if (pending) pending.waiters = pending.waiters.filter((w) => w !== waiter);
          reject(signal.reason);
        };
        // The listener goes with the wait: a long-lived signal must not collect one per record.
        let unlisten: (() => void) | undefined;
        const waiter: Waiter = {
          resolve: () => {
            unlisten?.();
            resolve();
          },
          reject: (err) => {
            unlisten?.();
            reject(err);
          },
        };
        waiters.push(waiter);
        if (signal.aborted) onAbort();
        else unlisten = onSignalAbort(signal, onAbort);
      });
    }
    const pending = target.adds.get(key);
    if (pending) {
      pending.entry = entry;
      pending.text = text;
      pending.waiters.push(...waiters);
    } else {
      target.adds.set(key, { entry, text, waiters: [...waiters] });
    }
    // The add overwrites the key: a removal queued for it is moot (and its waiters are done).
    target.removes.delete(key);
    for (const w of target.removalWaiters.get(key) ?? []) w.resolve();
    target.removalWaiters.delete(key);
    this.#settling.delete(key);
    target.setSize(key, entrySize(key, text));
    this.#home.set(key, target);
    this.#kick(target);
    return promise ?? Promise.resolve();
  }

  #scheduleRemovals(shard: Shard): void {
    if (this.#closed || shard.timer !== undefined || shard.removes.size === 0) return;
    shard.timer = this.#deps.clock.setTimeout(() => {
      shard.timer = undefined;
      shard.removalsDue = true;
      this.#kick(shard);
    }, this.#removalDelayMs);
  }

  #kick(shard: Shard): void {
    if (shard.running || !this.#enabled) return;
    if (shard.adds.size === 0 && !(shard.removalsDue && shard.removes.size > 0)) return;
    shard.running = this.#run(shard).finally(() => {
      shard.running = undefined;
      // Queued while the last write was in flight, after the loop looked.
      this.#kick(shard);
    });
  }

  async #drain(shard: Shard): Promise<void> {
    this.#kick(shard);
    while (shard.running) await shard.running;
  }

  /** Writes the shard's queued adds and removals, one write at a time, until nothing is queued. */
  async #run(shard: Shard): Promise<void> {
    // The first write after a quiet spell waits a moment for the records of the same burst (a
    // controller creating claims by the dozen, a resync): under the client's rate limit each
    // write costs a token that a PV create then waits for. Later writes need no wait: what
    // queued while the previous write was in flight goes in at once.
    if (this.#batchWindowMs > 0) await this.#deps.clock.sleep(this.#batchWindowMs);
    else await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#enabled && (shard.adds.size > 0 || (shard.removalsDue && shard.removes.size > 0))) {
      const adds = shard.adds;
      const removes = shard.removes;
      shard.adds = new Map();
      shard.removes = new Set();
      shard.removalsDue = false;
      if (shard.timer !== undefined) this.#deps.clock.clearTimeout(shard.timer);
      shard.timer = undefined;
      shard.inFlightRemoves = removes;
      try {
        await this.#write(shard, adds, removes);
      } catch (err) {
        this.#failed(shard, adds, removes, err);
        continue;
      } finally {
        shard.inFlightRemoves = new Set();
      }
      const now = this.#deps.clock.now();
      for (const [key, add] of adds) {
        this.#written.set(key, { entry: add.entry, shard });
        for (const w of add.waiters) w.resolve();
      }
      for (const key of removes) {
        for (const w of shard.removalWaiters.get(key) ?? []) w.resolve();
        shard.removalWaiters.delete(key);
        if (this.#settled.has(key)) this.#settled.set(key, now);
        if (this.#settling.get(key)?.shard === shard) this.#settling.delete(key);
        if (shard.adds.has(key)) continue;
        shard.dropSize(key);
        if (this.#home.get(key) === shard) this.#home.delete(key);
      }
      this.#log.v(5).info('Journal written', { lease: shard.name, added: adds.size, removed: removes.size });
    }
    this.#scheduleRemovals(shard);
  }

  #failed(shard: Shard, adds: Map<string, PendingAdd>, removes: Set<string>, err: unknown): void {
    if (isForbidden(err)) {
      this.disable(`no permission to write Leases in namespace ${this.#opts.namespace} (${errorText(err)})`);
      for (const add of adds.values()) for (const w of add.waiters) w.resolve();
      return;
    }
    // Removals go round again with the next write; whoever waits for one is told now.
    for (const key of removes) if (!shard.adds.has(key)) shard.removes.add(key);
    for (const key of removes) {
      const waiters = shard.removalWaiters.get(key);
      if (!waiters) continue;
      shard.removalWaiters.delete(key);
      const failure = new JournalWriteError(`cannot remove the journal entry ${key} (Lease ${this.#opts.namespace}/${shard.name}): ${errorText(err)}`, { cause: err });
      for (const w of waiters) w.reject(failure);
    }
    const unwritten = (key: string) => {
      if (this.#written.get(key)?.shard === shard || shard.adds.has(key)) return;
      shard.dropSize(key);
      if (this.#home.get(key) === shard) this.#home.delete(key);
    };
    if (isTooLarge(err) && shard.sizes.size > 1) {
      // Fuller than this process knew (another writer's entries): the entries go to another shard.
      this.#log.v(2).info('Journal shard is full; using the next one', { lease: shard.name, err: errorText(err) });
      shard.full = true;
      for (const [key, add] of adds) {
        unwritten(key);
        if (this.#home.get(key) === shard) this.#home.delete(key);
        void this.#append(key, add.entry, undefined, this.#pickShard(entrySize(key, add.text)), add.waiters);
      }
      return;
    }
    for (const [key, add] of adds) {
      unwritten(key);
      const failure = new JournalWriteError(
        `cannot record the provisioning of ${add.entry.pvName} in the journal (Lease ${this.#opts.namespace}/${shard.name}): ${errorText(err)}`,
        { cause: err },
      );
      for (const w of add.waiters) w.reject(failure);
    }
    if (removes.size > 0) this.#log.v(2).info('Could not write journal removals; will retry', { lease: shard.name, err: errorText(err) });
  }

  /** One write of the shard with `adds` and `removes` applied (re-read and retried on conflict). */
  async #write(shard: Shard, adds: ReadonlyMap<string, PendingAdd>, removes: ReadonlySet<string>): Promise<void> {
    const { namespace } = this.#opts;
    for (let attempt = 1; ; attempt++) {
      const base = shard.lease;
      if (!base) {
        if (adds.size === 0) return; // Nothing to remove from a shard that does not exist.
        const entries = new Map([...adds].map(([key, add]) => [key, add.text] as const));
        this.#writes++;
        try {
          shard.lease = await this.#deps.api.createLease(shardLease(shard.name, namespace, shardLabels(this.#opts.driverName, this.#opts.node), this.#opts.holder, entries));
          return;
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
        }
        shard.lease = await this.#read(shard);
        continue;
      }
      const annotations: Record<string, string> = { ...base.metadata?.annotations };
      for (const key of removes) delete annotations[key];
      for (const [key, add] of adds) annotations[key] = add.text;
      this.#writes++;
      try {
        shard.lease = await this.#deps.api.updateLease({ ...base, metadata: { ...base.metadata, annotations } });
        return;
      } catch (err) {
        if (isNotFound(err)) {
          shard.lease = undefined;
        } else if (isConflict(err) && attempt < MAX_CONFLICTS) {
          // Written by someone else since: apply the same changes to what is there now.
          shard.lease = await this.#read(shard);
        } else {
          throw err;
        }
      }
    }
  }

  async #read(shard: Shard): Promise<Lease | undefined> {
    try {
      const lease = await this.#deps.api.getLease(this.#opts.namespace, shard.name);
      // What others put there counts against the shard's size.
      for (const key of entryKeys(lease)) if (!shard.sizes.has(key)) shard.setSize(key, entrySize(key, lease.metadata?.annotations?.[key] ?? ''));
      return lease;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async #setFinalizer(ref: JournalEntry['claim'], present: boolean, signal?: AbortSignal): Promise<void> {
    await retryOnConflict(async () => {
      let claim: PersistentVolumeClaim;
      try {
        claim = await this.#deps.claims.getClaim(ref.namespace, ref.name, signal);
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      if (claim.metadata?.uid !== ref.uid) return;
      const finalizers = claim.metadata?.finalizers ?? [];
      const has = finalizers.includes(PROVISIONING_PROTECTION_FINALIZER);
      if (has === present) return;
      // A claim being deleted gets no new finalizer (the API would refuse it anyway).
      if (present && claim.metadata?.deletionTimestamp) return;
      const updated = structuredClone(claim);
      updated.metadata = {
        ...updated.metadata,
        finalizers: present ? [...finalizers, PROVISIONING_PROTECTION_FINALIZER] : finalizers.filter((f) => f !== PROVISIONING_PROTECTION_FINALIZER),
      };
      try {
        await this.#deps.claims.updateClaim(updated, signal);
      } catch (err) {
        // Conflicts go round again (retryOnConflict); a claim gone meanwhile needs nothing.
        if (!isNotFound(err)) throw err;
      }
    }, { clock: this.#deps.clock, signal });
  }
}
