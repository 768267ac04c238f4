// One informer per resource + namespace + selectors, shared by every controller in the process
// (the provisioner's claim and capacity controllers both watch PVCs; one cache, one watch).
// Because the cache is shared, so is its transform: the first caller decides it, and a later
// caller that asks for a different one gets an error instead of silently trimmed objects.
// Indexers are added to the shared store; pass module-level functions so that two controllers
// asking for the same index name are recognised as asking for the same thing.

import type { Clock } from '../lifecycle/clock.js';
import type { Disposable } from '../lifecycle/disposable.js';
import type { Logger } from '../logging/logger.js';
import { discardLogger } from '../logging/logger.js';
import type { InformerOptions } from './informer.js';
import { Informer } from './informer.js';
import type { ListWatchClient, ListWatchTarget } from './list-watch.js';
import { describeTarget, httpListWatcher } from './list-watch.js';
import type { KubeObject } from './object.js';
import type { ResourceDescriptor } from './resources.js';
import type { IndexFunc } from './store.js';

export interface InformerRequest<T extends KubeObject> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  transform?: (obj: KubeObject) => T;
  indexers?: Record<string, IndexFunc<T>>;
}

export type ReflectorTuning = Pick<
  InformerOptions<KubeObject>,
  'pageSize' | 'listFromWatchCache' | 'watchList' | 'minWatchTimeoutSeconds' | 'inactivityTimeoutMs' | 'minWatchDurationMs' | 'backoff'
>;

export interface InformerFactoryOptions extends ReflectorTuning {
  client: ListWatchClient;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
}

interface Entry {
  informer: Informer<KubeObject>;
  transform: ((obj: KubeObject) => KubeObject) | undefined;
  indexers: Map<string, IndexFunc<KubeObject>>;
}

export class InformerFactory implements Disposable {
  readonly #opts: InformerFactoryOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #log: Logger;
  #signal: AbortSignal | undefined;
  #disposed = false;

  constructor(opts: InformerFactoryOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? discardLogger;
  }

  /** The shared informer for this resource and filter, created on first use. */
  informerFor<T extends KubeObject = KubeObject>(resource: ResourceDescriptor, req: InformerRequest<T> = {}): Informer<T> {
    if (this.#disposed) throw new Error('informer factory is disposed');
    const target: ListWatchTarget = {
      resource,
      namespace: resource.namespaced ? req.namespace || undefined : undefined,
      labelSelector: req.labelSelector || undefined,
      fieldSelector: req.fieldSelector || undefined,
    };
    const key = describeTarget(target);
    let entry = this.#entries.get(key);
    if (!entry) {
      const informer = new Informer<KubeObject>({
        listWatcher: httpListWatcher(this.#opts.client, target),
        transform: req.transform as ((obj: KubeObject) => KubeObject) | undefined,
        clock: this.#opts.clock,
        random: this.#opts.random,
        logger: this.#log,
        pageSize: this.#opts.pageSize,
        listFromWatchCache: this.#opts.listFromWatchCache,
        watchList: this.#opts.watchList,
        minWatchTimeoutSeconds: this.#opts.minWatchTimeoutSeconds,
        inactivityTimeoutMs: this.#opts.inactivityTimeoutMs,
        minWatchDurationMs: this.#opts.minWatchDurationMs,
        backoff: this.#opts.backoff,
      });
      entry = { informer, transform: req.transform as Entry['transform'], indexers: new Map() };
      this.#entries.set(key, entry);
      // Informers asked for after start() start at once, so late controllers need no extra call.
      if (this.#signal) void informer.run(this.#signal);
    } else if (req.transform && req.transform !== entry.transform) {
      throw new Error(`informer ${key}: already created with a different transform; a shared cache can have only one`);
    }
    for (const [name, fn] of Object.entries(req.indexers ?? {})) {
      const existing = entry.indexers.get(name);
      if (existing === fn) continue;
      if (existing) throw new Error(`informer ${key}: indexer ${JSON.stringify(name)} already exists with a different function`);
      entry.informer.store.addIndexer(name, fn as IndexFunc<KubeObject>);
      entry.indexers.set(name, fn as IndexFunc<KubeObject>);
    }
    return entry.informer as unknown as Informer<T>;
  }

  /** Starts every informer (and, from now on, every new one) until the signal aborts or dispose(). */
  start(signal?: AbortSignal): void {
    if (this.#disposed) throw new Error('informer factory is disposed');
    if (this.#signal) return;
    this.#signal = signal ?? new AbortController().signal;
    for (const e of this.#entries.values()) void e.informer.run(this.#signal);
  }

  /** Resolves when every informer created so far has synced. */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.#entries.values()].map((e) => e.informer.waitForSync(signal)));
  }

  get informers(): Informer<KubeObject>[] {
    return [...this.#entries.values()].map((e) => e.informer);
  }

  async dispose(): Promise<void> {
    this.#disposed = true;
    await Promise.all([...this.#entries.values()].map((e) => e.informer.dispose()));
  }
}
