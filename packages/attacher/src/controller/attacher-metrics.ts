// Metrics the Go attacher does not have (it exports only the CSI call, workqueue and leader
// election metrics): how much attach and detach work is pending and for how long, measured from
// the objects' own timestamps (not from the last enqueue, which backoff resets), end-to-end
// attach/detach latency, and attachments whose ControllerPublish outcome is unknown.

import { Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Clock, Store, VolumeAttachment } from '@csi-sidecars-ts/shared';

export const PENDING_OPERATIONS_METRIC = 'csi_attacher_pending_operations';
export const OLDEST_PENDING_METRIC = 'csi_attacher_oldest_pending_operation_seconds';
export const OPERATION_DURATION_METRIC = 'csi_attacher_operation_duration_seconds';
export const UNCERTAIN_ATTACHMENTS_METRIC = 'csi_attacher_uncertain_attachments';
export const OLDEST_UNCERTAIN_METRIC = 'csi_attacher_oldest_uncertain_attachment_seconds';

const DURATION_BUCKETS = [0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

export type Operation = 'attach' | 'detach';

export interface PendingWork {
  /** VAs of our driver not yet attached, and being deleted while still finalized. */
  pending(now: number): Record<Operation, { count: number; oldestSeconds: number }>;
}

/**
 * Pending work computed from the VA cache at scrape time: attach pending since the VA was
 * created, detach pending since its deletion was requested.
 */
export function pendingFromCache(store: Store<VolumeAttachment>, driver: string, finalizer: string, trivial: boolean): PendingWork {
  return {
    pending(now) {
      const out = { attach: { count: 0, oldestSeconds: 0 }, detach: { count: 0, oldestSeconds: 0 } };
      for (const va of store.list()) {
        if (va.spec?.attacher !== driver) continue;
        const meta = va.metadata;
        let op: Operation;
        let since: string | undefined;
        if (meta?.deletionTimestamp) {
          if (trivial || !meta.finalizers?.includes(finalizer)) continue;
          op = 'detach';
          since = meta.deletionTimestamp;
        } else {
          if (va.status?.attached) continue;
          op = 'attach';
          since = meta?.creationTimestamp;
        }
        const agg = out[op];
        agg.count++;
        const start = since ? Date.parse(since) : NaN;
        if (Number.isFinite(start)) agg.oldestSeconds = Math.max(agg.oldestSeconds, Math.max(0, (now - start) / 1000));
      }
      return out;
    },
  };
}

/** VAs whose last ControllerPublish is in flight or ended without a definite answer. */
export class UncertainAttachments {
  readonly #since = new Map<string, number>();

  mark(name: string, now: number): void {
    if (!this.#since.has(name)) this.#since.set(name, now);
  }

  clear(name: string): void {
    this.#since.delete(name);
  }

  has(name: string): boolean {
    return this.#since.has(name);
  }

  get size(): number {
    return this.#since.size;
  }

  oldestSeconds(now: number): number {
    let oldest = 0;
    for (const t of this.#since.values()) oldest = Math.max(oldest, (now - t) / 1000);
    return oldest;
  }
}

export interface AttacherMetrics {
  /** An attach or detach finished; `since` is the object timestamp the operation started at. */
  observeCompleted(op: Operation, since: string | undefined): void;
}

export const noAttacherMetrics: AttacherMetrics = { observeCompleted: () => undefined };

/** Registers the metrics on `registry` (replacing ones left by a previous run, e.g. after re-election). */
export function registerAttacherMetrics(registry: Registry, clock: Clock, pending: PendingWork, uncertain: UncertainAttachments): AttacherMetrics {
  for (const name of [PENDING_OPERATIONS_METRIC, OLDEST_PENDING_METRIC, OPERATION_DURATION_METRIC, UNCERTAIN_ATTACHMENTS_METRIC, OLDEST_UNCERTAIN_METRIC]) {
    registry.removeSingleMetric(name);
  }
  const registers = [registry];
  // One computation serves both pending gauges of a scrape.
  let snapshot: { at: number; value: ReturnType<PendingWork['pending']> } | undefined;
  const current = () => {
    const now = clock.now();
    if (!snapshot || snapshot.at !== now) snapshot = { at: now, value: pending.pending(now) };
    return snapshot.value;
  };
  new Gauge({
    name: PENDING_OPERATIONS_METRIC,
    help: 'VolumeAttachments of this driver waiting to be attached or detached.',
    labelNames: ['operation'],
    registers,
    collect() {
      const p = current();
      this.set({ operation: 'attach' }, p.attach.count);
      this.set({ operation: 'detach' }, p.detach.count);
    },
  });
  new Gauge({
    name: OLDEST_PENDING_METRIC,
    help: 'Age of the oldest pending attach (since VolumeAttachment creation) or detach (since its deletion was requested).',
    labelNames: ['operation'],
    registers,
    collect() {
      const p = current();
      this.set({ operation: 'attach' }, p.attach.oldestSeconds);
      this.set({ operation: 'detach' }, p.detach.oldestSeconds);
    },
  });
  new Gauge({
    name: UNCERTAIN_ATTACHMENTS_METRIC,
    help: 'VolumeAttachments whose last ControllerPublishVolume is in flight or ended without a final answer (timeout, Unavailable, Aborted, ...).',
    registers,
    collect() {
      this.set(uncertain.size);
    },
  });
  new Gauge({
    name: OLDEST_UNCERTAIN_METRIC,
    help: 'How long the oldest uncertain attachment has been uncertain.',
    registers,
    collect() {
      this.set(uncertain.oldestSeconds(clock.now()));
    },
  });
  const duration = new Histogram({
    name: OPERATION_DURATION_METRIC,
    help: 'End-to-end attach (VolumeAttachment creation to attached) and detach (deletion request to finalizer removed) time, retries included.',
    labelNames: ['operation'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  return {
    observeCompleted(op, since) {
      const start = since ? Date.parse(since) : NaN;
      if (!Number.isFinite(start)) return;
      duration.observe({ operation: op }, Math.max(0, (clock.now() - start) / 1000));
    },
  };
}
