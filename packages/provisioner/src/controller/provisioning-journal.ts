// Writing and removing provisioning journal entries (see journal-entry.ts for what they are).
//   record(): before CreateVolume. A failure to write stops the attempt (it is retried): a
//             volume must never exist that no durable record knows about. No RBAC for Leases
//             (403) turns the journal off with one loud warning: the sidecar then behaves like
//             the Go one instead of provisioning nothing.
//   settle(): once a PV describes the volume, or the backend confirmed there is none. Best
//             effort: an entry left behind is found by the journal controller, which settles it.
// With --provisioning-protection-finalizer, record() also puts a finalizer on the claim and
// settle() takes it off, so deleting the claim waits for the outcome (KEP-2994's design).

import { isAlreadyExists, isForbidden, isNotFound, retryOnConflict } from '@csi-sidecars-ts/shared';
import type { Clock, CreateVolumeRequest, Lease, Logger, PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import type { JournalApi } from '../adapters/journal-api.js';
import type { ProvisionerApi } from '../adapters/kube-api.js';
import { PROVISIONING_PROTECTION_FINALIZER } from './constants.js';
import { JOURNAL_ENTRY_VERSION, entryFromLease, entryToLease, journalLeaseName, sameEntry, storedRequest } from './journal-entry.js';
import type { JournalEntry } from './journal-entry.js';
import type { SecretReference } from './secrets.js';

export interface ProvisioningJournalOptions {
  /** Where the entries live: the leader-election namespace. */
  namespace: string;
  driverName: string;
  /** Written into each Lease's holderIdentity (for people reading it). */
  holder: string;
  /** Node-deployment mode: this node. */
  node?: string;
  protectionFinalizer: boolean;
}

export interface ProvisioningJournalDeps {
  api: JournalApi;
  claims: Pick<ProvisionerApi, 'getClaim' | 'updateClaim'>;
  /** An entry's Lease from the journal informer, by Lease name. */
  cached(leaseName: string): Lease | undefined;
  clock: Clock;
  logger: Logger;
}

/** How long a removed entry's cached copy is distrusted (far longer than any watch delay). */
const REMOVED_MEMORY_MS = 60_000;

/** The journal could not record an entry: the CreateVolume must not happen yet. */
export class JournalWriteError extends Error {
  override readonly name = 'JournalWriteError';
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class ProvisioningJournal {
  readonly #opts: ProvisioningJournalOptions;
  readonly #deps: ProvisioningJournalDeps;
  readonly #log: Logger;
  /** Entries this process wrote and has not settled, by Lease name (spares the API a write per retry). */
  readonly #written = new Map<string, JournalEntry>();
  /**
   * Entries this process removed, with when: the informer cache may still show them for a
   * moment, and must not be taken for a record that exists. Forgotten after a minute.
   */
  readonly #removed = new Map<string, number>();
  #enabled = true;

  constructor(options: ProvisioningJournalOptions, deps: ProvisioningJournalDeps) {
    this.#opts = options;
    this.#deps = deps;
    this.#log = deps.logger.withName('provisioning-journal');
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

  /** Turns the journal off for the rest of the process (Go behaviour), saying why once. */
  disable(reason: string): void {
    if (!this.#enabled) return;
    this.#enabled = false;
    this.#log.error(
      `PROVISIONING JOURNAL DISABLED: ${reason}. A restart between CreateVolume and saving the PV can now leak volumes, as with the Go provisioner; ` +
        `grant get, list, watch, create, update and delete on coordination.k8s.io leases in namespace ${this.#opts.namespace} to fix it`,
    );
  }

  leaseName(pvName: string): string {
    return journalLeaseName(this.#opts.driverName, pvName);
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
    const name = this.leaseName(entry.pvName);
    const known = this.#written.get(name) ?? (this.#removed.has(name) ? undefined : this.#cachedEntry(name));
    if (!known || !sameEntry(known, entry)) {
      const startedAt = known?.startedAt ?? entry.startedAt;
      const wanted = { ...entry, startedAt };
      try {
        await this.#write(name, wanted, signal);
      } catch (err) {
        if (isForbidden(err)) {
          this.disable(`no permission to write Leases in namespace ${this.#opts.namespace} (${errorText(err)})`);
          return;
        }
        throw new JournalWriteError(`cannot record the provisioning of ${entry.pvName} in the journal (Lease ${this.#opts.namespace}/${name}): ${errorText(err)}`, { cause: err });
      }
      this.#written.set(name, wanted);
      this.#removed.delete(name);
      this.#log.v(4).info('Recorded', { pv: entry.pvName, claim: `${entry.claim.namespace}/${entry.claim.name}` });
    }
    if (this.#opts.protectionFinalizer) {
      try {
        await this.#setFinalizer(entry.claim, true, signal);
      } catch (err) {
        throw new JournalWriteError(`cannot add finalizer ${PROVISIONING_PROTECTION_FINALIZER} to claim ${entry.claim.namespace}/${entry.claim.name}: ${errorText(err)}`, { cause: err });
      }
    }
  }

  /** Removes the entry of `pvName` (and the claim's protection finalizer). Never throws. */
  async settle(entry: Pick<JournalEntry, 'pvName' | 'claim'>, reason: string, signal?: AbortSignal): Promise<void> {
    if (!this.#enabled) return;
    const name = this.leaseName(entry.pvName);
    this.#written.delete(name);
    this.#forgetOldRemovals();
    this.#removed.delete(name);
    this.#removed.set(name, this.#deps.clock.now());
    try {
      await this.#deps.api.deleteLease(this.#opts.namespace, name, signal);
      this.#log.v(4).info('Settled', { pv: entry.pvName, reason });
    } catch (err) {
      if (!isNotFound(err)) this.#log.warn('Could not remove a settled journal entry; the journal controller will', { pv: entry.pvName, lease: name, err: errorText(err) });
    }
    if (this.#opts.protectionFinalizer) await this.removeFinalizer(entry.claim, signal);
  }

  /** Takes the protection finalizer off the claim (if it is still this claim). Never throws. */
  async removeFinalizer(claim: JournalEntry['claim'], signal?: AbortSignal): Promise<void> {
    try {
      await this.#setFinalizer(claim, false, signal);
    } catch (err) {
      this.#log.warn('Could not remove the provisioning protection finalizer; will retry', { claim: `${claim.namespace}/${claim.name}`, err: errorText(err) });
    }
  }

  #forgetOldRemovals(): void {
    const cutoff = this.#deps.clock.now() - REMOVED_MEMORY_MS;
    // Insertion order is removal order: stop at the first recent one.
    for (const [name, at] of this.#removed) {
      if (at > cutoff) break;
      this.#removed.delete(name);
    }
  }

  #cachedEntry(name: string): JournalEntry | undefined {
    const lease = this.#deps.cached(name);
    if (!lease) return undefined;
    try {
      return entryFromLease(lease);
    } catch {
      return undefined;
    }
  }

  async #write(name: string, entry: JournalEntry, signal?: AbortSignal): Promise<void> {
    const lease = entryToLease(entry, this.#opts.namespace, this.#opts.holder);
    try {
      await this.#deps.api.createLease(lease, signal);
      return;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    // Written before (by us or an earlier process): bring it up to date.
    await retryOnConflict(async () => {
      const current = await this.#deps.api.getLease(this.#opts.namespace, name, signal);
      let existing: JournalEntry | undefined;
      try {
        existing = entryFromLease(current);
      } catch {
        existing = undefined;
      }
      if (existing && sameEntry(existing, entry)) return;
      const updated = entryToLease(existing ? { ...entry, startedAt: existing.startedAt } : entry, this.#opts.namespace, this.#opts.holder);
      updated.metadata = { ...updated.metadata, resourceVersion: current.metadata?.resourceVersion };
      await this.#deps.api.updateLease(updated, signal);
    }, { clock: this.#deps.clock, signal });
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
