// Lease-based leader election with client-go's semantics and csi-lib-utils' defaults.
//
// Expiry is judged by *our* clock from the moment we last saw the Lease record change, never from
// the timestamps in the record, so clock skew between replicas cannot cause a premature takeover.
// Writes use optimistic concurrency (resourceVersion); a renewal first tries the cached Lease and
// falls back to get + update when that conflicts (the "slow path").
import { realClock, type Clock } from '../lifecycle/clock.js';
import { discardLogger, type Logger } from '../logging/logger.js';
import { isLeaseNotFound, type LeaseObject, type LeaseClient, type LeaseSpec } from './lease.js';
import { noLeaderElectionMetrics, type LeaderElectionMetrics } from './metrics.js';

/** csi-lib-utils defaults for --leader-election-lease-duration / -renew-deadline / -retry-period. */
export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 5_000;
/** How long past lease expiry /healthz/leader-election tolerates a missing renewal (csi-lib-utils). */
export const DEFAULT_HEALTH_CHECK_TIMEOUT_MS = 20_000;
/** Retries while acquiring wait retryPeriod·(1 + random·1.2), as client-go does. */
const JITTER_FACTOR = 1.2;

export interface StoppedLeadingInfo {
  /**
   * lost: the Lease could not be renewed within the renew deadline (the Go sidecars exit 1);
   * cancelled: run()'s signal aborted; finished: onStartedLeading returned or threw by itself.
   */
  reason: 'lost' | 'cancelled' | 'finished';
  /** False when run() was cancelled before this candidate ever became leader. */
  wasLeader: boolean;
  /** What onStartedLeading threw, if it did. */
  error?: unknown;
}

export interface LeaderElectorOptions {
  client: LeaseClient;
  namespace: string;
  /** Lease name; see leaseNameFor(). */
  name: string;
  /** Holder identity; see leaderIdentity(). */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** --leader-election-labels: put on the Lease whenever this candidate writes it. */
  labels?: Record<string, string>;
  /** On a clean stop, hand the Lease over at once (feature gate ReleaseLeaderElectionOnExit). */
  releaseOnExit?: boolean;
  /**
   * Runs the leader's work. `signal` aborts when leadership ends: at once when the Lease is lost,
   * and on cancellation. After cancellation the Lease keeps being renewed until the returned
   * promise settles, so in-flight work can drain while we still own the Lease.
   */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called once when run() ends, whatever the reason. */
  onStoppedLeading(info: StoppedLeadingInfo): void;
  onNewLeader?(identity: string): void;
  /** Event hook ("<identity> became leader", "<identity> stopped leading"), reason LeaderElection. */
  recordEvent?(message: string): void;
  clock?: Clock;
  logger?: Logger;
  random?: () => number;
  metrics?: LeaderElectionMetrics;
  /**
   * `name` label of the leader_election_* metrics. csi-lib-utils never sets client-go's
   * LeaderElectionConfig.Name, so the Go sidecars report name="" — the default here too.
   */
  metricsName?: string;
}

interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: number | undefined;
  renewTime: number | undefined;
  leaseTransitions: number;
  preferredHolder: string;
  strategy: string;
}

/** Health check in the shape the HTTP server takes: throws when unhealthy. */
export interface LeaderElectionHealthCheck {
  readonly name: string;
  check(): void;
}

export class LeaderElector {
  readonly #o: Required<Pick<LeaderElectorOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>> & LeaderElectorOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #metrics: LeaderElectionMetrics;
  readonly #metricsName: string;
  readonly #desc: string;
  #observed: LeaseRecord | undefined;
  #observedRaw = '';
  #observedTime = 0;
  /** The Lease as last read or written; its resourceVersion guards our next update. */
  #cached: LeaseObject | undefined;
  #reportedLeader = '';
  #started = false;

  constructor(opts: LeaderElectorOptions) {
    const o = {
      ...opts,
      leaseDurationMs: opts.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS,
      renewDeadlineMs: opts.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS,
      retryPeriodMs: opts.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS,
    };
    validate(o);
    this.#o = o;
    this.#clock = opts.clock ?? realClock;
    this.#desc = `${opts.namespace}/${opts.name}`;
    this.#log = (opts.logger ?? discardLogger).withValues({ lock: this.#desc, identity: opts.identity });
    this.#metrics = opts.metrics ?? noLeaderElectionMetrics;
    this.#metricsName = opts.metricsName ?? '';
  }

  /** Whether the Lease, as last observed, names us as holder. */
  isLeader(): boolean {
    return this.#observed?.holderIdentity === this.#o.identity;
  }

  /** Holder of the Lease as last observed ('' when none). */
  getLeader(): string {
    return this.#observed?.holderIdentity ?? '';
  }

  /**
   * client-go's HealthzAdaptor: unhealthy only when we believe we lead but have not renewed for
   * longer than the lease duration plus `toleranceMs`. Followers are always healthy.
   */
  leaderElectionHealthy(now: number = this.#clock.now(), toleranceMs = DEFAULT_HEALTH_CHECK_TIMEOUT_MS): boolean {
    if (!this.isLeader()) return true;
    return now - this.#observedTime <= this.#o.leaseDurationMs + toleranceMs;
  }

  /** The /healthz/leader-election check. */
  healthCheck(toleranceMs = DEFAULT_HEALTH_CHECK_TIMEOUT_MS): LeaderElectionHealthCheck {
    return {
      name: 'leader-election',
      check: () => {
        if (!this.leaderElectionHealthy(this.#clock.now(), toleranceMs)) {
          throw new Error(`failed election to renew leadership on lease ${this.#desc}`);
        }
      },
    };
  }

  /**
   * Campaigns until `signal` aborts: acquire, lead (onStartedLeading), renew; then optionally
   * release, and call onStoppedLeading. Resolves when done; rejects only when called twice.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#started) throw new Error(`leader election for ${this.#desc} is already running`);
    this.#started = true;
    this.#metrics.leaderOff(this.#metricsName);
    this.#log.info('Attempting to acquire leader lease...');
    if (!(await this.#acquire(signal))) {
      this.#stopped({ reason: 'cancelled', wasLeader: false });
      return;
    }

    const leading = new AbortController();
    const workDone = new AbortController();
    let workError: unknown;
    const cancel = () => leading.abort(signal.reason);
    if (signal.aborted) {
      // Won the Lease just as we were told to stop: do not start the work at all.
      cancel();
      workDone.abort();
    } else {
      signal.addEventListener('abort', cancel, { once: true });
      void (async () => {
        try {
          this.#log.v(2).info('became leader, starting');
          await this.#o.onStartedLeading(leading.signal);
        } catch (err) {
          workError = err;
          this.#log.error('Leader work failed', err);
        } finally {
          workDone.abort();
        }
      })();
    }

    const lost = await this.#renewUntil(workDone.signal);
    signal.removeEventListener('abort', cancel);
    this.#metrics.leaderOff(this.#metricsName);
    if (lost) {
      this.#log.info('Failed to renew lease');
      leading.abort(new Error(`leader election lost: could not renew Lease ${this.#desc} within ${this.#o.renewDeadlineMs} ms`));
    }
    this.#event('stopped leading');
    if (this.#o.releaseOnExit) await this.#release();
    const info: StoppedLeadingInfo = { reason: lost ? 'lost' : signal.aborted ? 'cancelled' : 'finished', wasLeader: true };
    if (workError !== undefined) info.error = workError;
    this.#stopped(info);
  }

  async #acquire(signal: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal.aborted) return false;
      const ok = await this.#tryAcquireOrRenew(signal);
      this.#maybeReportTransition();
      if (ok) {
        this.#event('became leader');
        this.#metrics.leaderOn(this.#metricsName);
        this.#log.info('Successfully acquired lease');
        return true;
      }
      this.#log.v(4).info('Failed to acquire lease', { holder: this.getLeader() });
      const wait = this.#o.retryPeriodMs * (1 + (this.#o.random ?? Math.random)() * JITTER_FACTOR);
      try {
        await this.#clock.sleep(wait, signal);
      } catch {
        return false;
      }
    }
  }

  /** Renews every retryPeriod until `stop` aborts (→ false) or a renewal misses its deadline (→ true). */
  async #renewUntil(stop: AbortSignal): Promise<boolean> {
    for (;;) {
      if (stop.aborted) return false;
      const renewed = await this.#renewWithinDeadline(stop);
      this.#maybeReportTransition();
      if (renewed === 'stopped') return false;
      if (!renewed) return true;
      this.#log.v(5).info('Successfully renewed lease');
      try {
        await this.#clock.sleep(this.#o.retryPeriodMs, stop);
      } catch {
        return false;
      }
    }
  }

  /** Tries at once, then every retryPeriod, until success or renewDeadline has passed. */
  async #renewWithinDeadline(stop: AbortSignal): Promise<boolean | 'stopped'> {
    const deadline = new AbortController();
    const timer = this.#clock.setTimeout(() => deadline.abort(new Error('renew deadline exceeded')), this.#o.renewDeadlineMs);
    const attempt = AbortSignal.any([stop, deadline.signal]);
    try {
      for (;;) {
        if (stop.aborted) return 'stopped';
        if (deadline.signal.aborted) return false;
        if (await this.#tryAcquireOrRenew(attempt)) return true;
        try {
          await this.#clock.sleep(this.#o.retryPeriodMs, attempt);
        } catch {
          // stop or deadline: the loop head decides which
        }
      }
    } finally {
      this.#clock.clearTimeout(timer);
    }
  }

  /** One round of client-go's tryAcquireOrRenew. Never throws. */
  async #tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const now = this.#clock.now();
    const desired: LeaseRecord = {
      holderIdentity: this.#o.identity,
      leaseDurationSeconds: Math.floor(this.#o.leaseDurationMs / 1000),
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
      preferredHolder: '',
      strategy: '',
    };

    // Fast path: we hold a valid Lease, so update the cached copy without reading first.
    if (this.isLeader() && this.#isLeaseValid(now) && this.#observed) {
      desired.acquireTime = this.#observed.acquireTime;
      desired.leaseTransitions = this.#observed.leaseTransitions;
      try {
        await this.#update(desired, signal);
        this.#setObserved(desired);
        return true;
      } catch (err) {
        if (signal.aborted) return false;
        this.#log.v(2).info('Failed to update lease optimistically, falling back to slow path', { err: errorMessage(err) });
      }
    }

    let current: LeaseRecord;
    try {
      const lease = await abortable(this.#o.client.get(this.#o.namespace, this.#o.name, signal), signal);
      this.#cached = lease;
      current = toRecord(lease.spec);
    } catch (err) {
      if (signal.aborted) return false;
      if (!isLeaseNotFound(err)) {
        this.#log.error('Error retrieving lease lock', err);
        return false;
      }
      try {
        this.#cached = await abortable(this.#o.client.create(this.#lease(desired), signal), signal);
        this.#setObserved(desired);
        return true;
      } catch (createErr) {
        if (!signal.aborted) this.#log.error('Error initially creating lease lock', createErr);
        return false;
      }
    }

    const raw = rawRecord(current);
    if (raw !== this.#observedRaw) {
      this.#setObserved(current);
      this.#observedRaw = raw;
    }
    if (current.holderIdentity !== '' && this.#isLeaseValid(now) && !this.isLeader()) {
      this.#log.v(4).info('Lease is held by another candidate and has not yet expired', { holder: current.holderIdentity });
      return false;
    }

    if (this.isLeader()) {
      desired.acquireTime = current.acquireTime;
      desired.leaseTransitions = current.leaseTransitions;
      this.#metrics.slowpathExercised(this.#metricsName);
    } else {
      desired.leaseTransitions = current.leaseTransitions + 1;
    }
    try {
      await this.#update(desired, signal);
    } catch (err) {
      if (!signal.aborted) this.#log.error('Failed to update lease', err);
      return false;
    }
    this.#setObserved(desired);
    return true;
  }

  /** Hands the Lease over: empty holder, 1 s duration (client-go's ReleaseOnCancel). */
  async #release(): Promise<void> {
    const deadline = new AbortController();
    const timer = this.#clock.setTimeout(() => deadline.abort(new Error('release deadline exceeded')), this.#o.renewDeadlineMs);
    const signal = deadline.signal;
    try {
      const lease = await abortable(this.#o.client.get(this.#o.namespace, this.#o.name, signal), signal);
      this.#cached = lease;
      const current = toRecord(lease.spec);
      // Check the fresh copy, not our last observation: never blank out someone else's Lease.
      if (current.holderIdentity !== this.#o.identity) return;
      const now = this.#clock.now();
      const released: LeaseRecord = {
        holderIdentity: '',
        leaseDurationSeconds: 1,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: current.leaseTransitions,
        preferredHolder: '',
        strategy: '',
      };
      await this.#update(released, signal);
      this.#setObserved(released);
      this.#log.info('Released lease');
    } catch (err) {
      if (isLeaseNotFound(err)) this.#log.info('Lease lock not found, nothing to release');
      else this.#log.error('Failed to release lease', err);
    } finally {
      this.#clock.clearTimeout(timer);
    }
  }

  async #update(record: LeaseRecord, signal: AbortSignal): Promise<void> {
    if (!this.#cached) throw new Error(`Lease ${this.#desc} not initialized: get or create it first`);
    const base = this.#cached;
    const next: LeaseObject = { ...base, metadata: { ...base.metadata }, spec: toSpec(record) };
    if (this.#o.labels) next.metadata.labels = { ...(base.metadata.labels ?? {}), ...this.#o.labels };
    this.#cached = await abortable(this.#o.client.update(next, signal), signal);
  }

  #lease(record: LeaseRecord): LeaseObject {
    const metadata: LeaseObject['metadata'] = { name: this.#o.name, namespace: this.#o.namespace };
    if (this.#o.labels) metadata.labels = { ...this.#o.labels };
    return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec: toSpec(record) };
  }

  #isLeaseValid(now: number): boolean {
    return this.#observedTime + (this.#observed?.leaseDurationSeconds ?? 0) * 1000 > now;
  }

  #setObserved(record: LeaseRecord): void {
    this.#observed = record;
    this.#observedTime = this.#clock.now();
  }

  #maybeReportTransition(): void {
    const holder = this.getLeader();
    if (holder === this.#reportedLeader) return;
    this.#reportedLeader = holder;
    this.#log.v(3).info('New leader detected', { leader: holder });
    const cb = this.#o.onNewLeader;
    if (cb) {
      queueMicrotask(() => {
        try {
          cb(holder);
        } catch (err) {
          this.#log.error('onNewLeader callback failed', err);
        }
      });
    }
  }

  #event(what: string): void {
    try {
      this.#o.recordEvent?.(`${this.#o.identity} ${what}`);
    } catch (err) {
      this.#log.error('Recording a leader-election event failed', err);
    }
  }

  #stopped(info: StoppedLeadingInfo): void {
    if (info.wasLeader) this.#log.info('Stopped leading', { reason: info.reason });
    try {
      this.#o.onStoppedLeading(info);
    } catch (err) {
      this.#log.error('onStoppedLeading callback failed', err);
    }
  }
}

function validate(o: LeaderElectorOptions & { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number }): void {
  const flags = `(--leader-election-lease-duration=${o.leaseDurationMs}ms, --leader-election-renew-deadline=${o.renewDeadlineMs}ms, --leader-election-retry-period=${o.retryPeriodMs}ms)`;
  if (!(o.leaseDurationMs >= 1000)) throw new RangeError(`leader election: lease duration must be at least 1s ${flags}`);
  if (!(o.renewDeadlineMs > 0)) throw new RangeError(`leader election: renew deadline must be greater than zero ${flags}`);
  if (!(o.retryPeriodMs > 0)) throw new RangeError(`leader election: retry period must be greater than zero ${flags}`);
  if (o.leaseDurationMs <= o.renewDeadlineMs) {
    throw new RangeError(`leader election: lease duration must be greater than renew deadline ${flags}`);
  }
  if (o.renewDeadlineMs <= JITTER_FACTOR * o.retryPeriodMs) {
    throw new RangeError(`leader election: renew deadline must be greater than retry period × ${JITTER_FACTOR} ${flags}`);
  }
  if (!o.identity) throw new Error('leader election: holder identity is empty');
  if (!o.name) throw new Error('leader election: Lease name is empty');
  if (!o.namespace) throw new Error('leader election: Lease namespace is empty');
}

function toRecord(spec: LeaseSpec | undefined): LeaseRecord {
  return {
    holderIdentity: spec?.holderIdentity ?? '',
    leaseDurationSeconds: spec?.leaseDurationSeconds ?? 0,
    acquireTime: spec?.acquireTime?.getTime(),
    renewTime: spec?.renewTime?.getTime(),
    leaseTransitions: spec?.leaseTransitions ?? 0,
    preferredHolder: spec?.preferredHolder ?? '',
    strategy: spec?.strategy ?? '',
  };
}

function toSpec(r: LeaseRecord): LeaseSpec {
  const spec: LeaseSpec = {
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: r.leaseDurationSeconds,
    leaseTransitions: r.leaseTransitions,
  };
  if (r.acquireTime !== undefined) spec.acquireTime = new Date(r.acquireTime);
  if (r.renewTime !== undefined) spec.renewTime = new Date(r.renewTime);
  if (r.preferredHolder) spec.preferredHolder = r.preferredHolder;
  if (r.strategy) spec.strategy = r.strategy;
  return spec;
}

/** A stable rendering of the record: a change means the holder wrote (renewed) the Lease. */
function rawRecord(r: LeaseRecord): string {
  return JSON.stringify([r.holderIdentity, r.leaseDurationSeconds, r.acquireTime, r.renewTime, r.leaseTransitions, r.preferredHolder, r.strategy]);
}

/** Settles with `p`, or rejects when `signal` aborts first (for clients that ignore the signal). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
