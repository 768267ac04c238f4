// What a scenario provides to the run loop, and the bookkeeping most of them share: when each
// object's trigger was sent and when a watch first saw it converged.
import type { BenchCluster } from '../cluster.js';
import type { Figure } from '../figures.js';
import type { Impl, Profile, ScenarioInfo } from '../catalogue.js';
import type { ApiClient, KubeObject, WatchEvent } from '../kube/api.js';

export interface RunContext {
  cluster: BenchCluster;
  profile: Profile;
  impl: Impl;
  /** Unique per run; used in namespace and object names. */
  runId: string;
  /** The run's own namespace (created before prepare). */
  ns: string;
  size: number;
  /** How long a workload may take before the run is declared failed. */
  timeoutMs: number;
  log: (line: string) => void;
  progress: (detail: string) => void;
}

export interface WorkloadResult {
  objects: number;
  figures: Figure[];
  notes?: string[];
}

export interface Scenario {
  info: ScenarioInfo;
  /** The sync time after start-up is a figure of this scenario (idle). */
  reportsSync?: boolean;
  /** Runs once before the scenario's first run (for all profiles and pairs). */
  setupOnce?(cluster: BenchCluster, size: number, log: (line: string) => void): Promise<void>;
  /** Objects the sidecar finds when it starts. */
  prepare(ctx: RunContext): Promise<void>;
  /** The measured load, with the sidecar running and synced. */
  workload(ctx: RunContext): Promise<WorkloadResult>;
  /** Whether the CSI plugin must be restarted after a run (it keeps volumes in memory). */
  usesBackend: boolean;
}

export class ConvergenceTracker {
  readonly sentAt = new Map<string, number>();
  readonly convergedAt = new Map<string, number>();
  #waiters: Array<{ count: number; resolve: () => void }> = [];

  sent(name: string, at = performance.now()): void {
    if (!this.sentAt.has(name)) this.sentAt.set(name, at);
  }

  converged(name: string, at: number): void {
    if (this.convergedAt.has(name)) return;
    this.convergedAt.set(name, at);
    const n = this.convergedAt.size;
    this.#waiters = this.#waiters.filter((w) => {
      if (n < w.count) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once `count` objects converged; rejects after timeoutMs saying how far it got. */
  waitFor(count: number, timeoutMs: number, what: string, signal?: AbortSignal): Promise<void> {
    if (this.convergedAt.size >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${Math.round(timeoutMs / 1000)} s: ${this.convergedAt.size} of ${count} ${what}`));
      }, timeoutMs);
      const waiter = {
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      });
      this.#waiters.push(waiter);
    });
  }

  get firstSent(): number {
    let first = Infinity;
    for (const t of this.sentAt.values()) if (t < first) first = t;
    return first;
  }
}

/** Runs a watch in the background; its failure is reported through `failed`, not thrown. */
export class BackgroundWatch {
  readonly #abort = new AbortController();
  readonly done: Promise<void>;
  error: unknown;

  constructor(start: (signal: AbortSignal) => Promise<void>, onError: (err: unknown) => void) {
    this.done = start(this.#abort.signal).catch((err: unknown) => {
      if (this.#abort.signal.aborted) return;
      this.error = err;
      onError(err);
    });
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.done;
  }
}

/** A workload's deadline: objects × a per-object allowance at the profile's limit, at least 3 min. */
export function workloadTimeoutMs(objects: number, qps: number): number {
  const perObject = qps <= 10 ? 1500 : 150;
  return 180_000 + objects * perObject;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Starts watching a collection from its current state (a one-item list gives the version). */
export async function watchFromNow<T extends KubeObject>(
  api: ApiClient,
  path: string,
  onEvent: (e: WatchEvent<T>) => void,
  onError: (err: unknown) => void,
): Promise<BackgroundWatch> {
  const sep = path.includes('?') ? '&' : '?';
  const list = await api.get<{ metadata: { resourceVersion: string } }>(`${path}${sep}limit=1`);
  return new BackgroundWatch((signal) => api.watch<T>(path, list.metadata.resourceVersion, onEvent, signal), onError);
}
