// Sweeper for the snapshot source-protection finalizer: the provisioner puts it on a
// VolumeSnapshot before restoring from it and takes it off after success; if that removal is
// missed (restart, failure, claim deleted), this periodic sweep removes it from every snapshot
// that no Pending claim restores from any more (--snapshot-orphan-sweep-interval).

import { isConflict, isForbidden, isNotFound } from '@csi-sidecars-ts/shared';
import type { Clock, Disposable, Informer, Logger, PersistentVolumeClaim, VolumeSnapshot } from '@csi-sidecars-ts/shared';
import type { ProvisionerApi } from '../adapters/kube-api.js';
import { SNAPSHOT_API_GROUP, SNAPSHOT_KIND, SNAPSHOT_SOURCE_FINALIZER } from './constants.js';

/** `namespace/name` of the snapshot a claim restores from, if any. */
export function snapshotSourceOf(claim: PersistentVolumeClaim): string | undefined {
  const ns = claim.metadata?.namespace ?? '';
  const ds = claim.spec?.dataSource;
  const isSnap = (kind: string | undefined, group: string | undefined) => kind === SNAPSHOT_KIND && (group === undefined || group === SNAPSHOT_API_GROUP);
  if (ds && isSnap(ds.kind, ds.apiGroup)) return `${ns}/${ds.name}`;
  const ref = claim.spec?.dataSourceRef;
  if (ref && isSnap(ref.kind, ref.apiGroup)) return `${ref.namespace || ns}/${ref.name}`;
  return undefined;
}

/** Snapshots carrying our finalizer that no Pending (or phase-less) claim restores from. */
export function orphanedSnapshots(snapshots: readonly VolumeSnapshot[], claims: readonly PersistentVolumeClaim[]): VolumeSnapshot[] {
  const pending = new Set<string>();
  for (const c of claims) {
    const phase = c.status?.phase;
    if (phase !== undefined && phase !== '' && phase !== 'Pending') continue;
    const src = snapshotSourceOf(c);
    if (src) pending.add(src);
  }
  return snapshots.filter(
    (s) => (s.metadata?.finalizers ?? []).includes(SNAPSHOT_SOURCE_FINALIZER) && !pending.has(`${s.metadata?.namespace}/${s.metadata?.name}`),
  );
}

export interface SnapshotSweeperDeps {
  snapshots: Informer<VolumeSnapshot>;
  claims: Informer<PersistentVolumeClaim>;
  api: ProvisionerApi;
  clock: Clock;
  logger: Logger;
}

export class SnapshotFinalizerSweeper implements Disposable {
  readonly #deps: SnapshotSweeperDeps;
  readonly #intervalMs: number;
  readonly #log: Logger;
  #timer: ReturnType<Clock['setTimeout']> | undefined;
  #stopped = false;
  #running: Promise<void> | undefined;

  constructor(deps: SnapshotSweeperDeps, intervalMs: number) {
    this.#deps = deps;
    this.#intervalMs = intervalMs;
    this.#log = deps.logger.withName('snapshot-finalizer-sweeper');
  }

  start(signal: AbortSignal): void {
    const tick = () => {
      this.#timer = undefined;
      if (this.#stopped || signal.aborted) return;
      this.#running = this.sweep(signal)
        .then(() => undefined)
        .catch((err: unknown) => this.#log.error('Sweep failed', err))
        .finally(() => {
          this.#running = undefined;
          if (!this.#stopped && !signal.aborted) this.#timer = this.#deps.clock.setTimeout(tick, this.#intervalMs);
        });
    };
    // Like wait.Until: a first sweep at once, then every interval.
    tick();
  }

  async sweep(signal?: AbortSignal): Promise<number> {
    let removed = 0;
    for (const snap of orphanedSnapshots(this.#deps.snapshots.store.list(), this.#deps.claims.store.list())) {
      if (signal?.aborted) break;
      const updated = structuredClone(snap);
      updated.metadata = { ...updated.metadata, finalizers: (snap.metadata?.finalizers ?? []).filter((f) => f !== SNAPSHOT_SOURCE_FINALIZER) };
      try {
        await this.#deps.api.updateVolumeSnapshot(updated, signal);
        removed++;
        this.#log.info('Removed orphaned finalizer from snapshot', { snapshot: `${snap.metadata?.namespace}/${snap.metadata?.name}` });
      } catch (err) {
        // Conflicts and vanished snapshots are retried by the next sweep; missing RBAC is not an error.
        const level = isNotFound(err) || isConflict(err) || isForbidden(err) ? 4 : 0;
        this.#log.v(level).info('Could not remove finalizer from snapshot', { snapshot: `${snap.metadata?.namespace}/${snap.metadata?.name}`, err: err instanceof Error ? err.message : String(err) });
      }
    }
    return removed;
  }

  async dispose(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#deps.clock.clearTimeout(this.#timer);
    await this.#running;
  }
}
