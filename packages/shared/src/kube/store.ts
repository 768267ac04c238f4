// The informer's cache: objects by key ('namespace/name', or 'name' when cluster-scoped) with
// secondary indexes, so lookups like "PVs bound to this claim" or "VolumeAttachments of this node"
// are map reads instead of scans.
//
// Memory: the store holds one copy of every object of the resource. Pass `transform` to keep
// only what the controller reads (drop managedFields, big annotations, unused spec/status
// parts). A transform MUST keep metadata.name, namespace, uid, resourceVersion, generation,
// deletionTimestamp, finalizers, and every field any indexer or handler looks at: the
// reflector compares resourceVersions, and controllers act on deletionTimestamp and finalizers.
// Stored objects are shared with handlers and listers: treat them as read-only (copy before
// changing, e.g. structuredClone).

import type { KubeObject } from './object.js';
import { objectKey } from './object.js';

export type IndexFunc<T> = (obj: T) => readonly string[];

export const NAMESPACE_INDEX = 'namespace';

export interface StoreOptions<T extends KubeObject> {
  indexers?: Record<string, IndexFunc<T>>;
  /** Applied to every object before it is stored (see the memory note above). */
  transform?: (obj: KubeObject) => T;
}

/** What replace() changed, in the order handlers should hear about it. */
export interface ReplaceResult<T> {
  added: T[];
  updated: { old: T; new: T }[];
  deleted: { key: string; old: T }[];
}

export class Store<T extends KubeObject = KubeObject> {
  readonly #items = new Map<string, T>();
  readonly #indexers = new Map<string, IndexFunc<T>>();
  /** index name → index value → keys */
  readonly #indices = new Map<string, Map<string, Set<string>>>();
  readonly #transform: ((obj: KubeObject) => T) | undefined;

  constructor(opts: StoreOptions<T> = {}) {
    this.#transform = opts.transform;
    this.#addIndexer(NAMESPACE_INDEX, (o) => (o.metadata?.namespace ? [o.metadata.namespace] : []));
    for (const [name, fn] of Object.entries(opts.indexers ?? {})) this.addIndexer(name, fn);
  }

  get size(): number {
    return this.#items.size;
  }

  /** Adds an index; existing objects are indexed at once. */
  addIndexer(name: string, fn: IndexFunc<T>): void {
    if (this.#indexers.has(name)) throw new Error(`store: indexer ${JSON.stringify(name)} already exists`);
    const computed = [...this.#items].map(([key, obj]) => [key, safeIndex(fn, obj, name)] as const);
    this.#addIndexer(name, fn);
    for (const [key, vals] of computed) this.#applyIndex(key, [[name, vals]]);
  }

  hasIndexer(name: string): boolean {
    return this.#indexers.has(name);
  }

  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  /** By namespace and name (namespace undefined or '' for cluster-scoped objects). */
  getByName(namespace: string | undefined, name: string): T | undefined {
    return this.#items.get(namespace ? `${namespace}/${name}` : name);
  }

  has(key: string): boolean {
    return this.#items.has(key);
  }

  list(): T[] {
    return [...this.#items.values()];
  }

  keys(): string[] {
    return [...this.#items.keys()];
  }

  /** Objects whose indexer returned `value`. Unknown index names throw (a typo must not look like "no objects"). */
  byIndex(indexName: string, value: string): T[] {
    const keys = this.indexKeys(indexName, value);
    const out: T[] = [];
    for (const k of keys) {
      const o = this.#items.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  indexKeys(indexName: string, value: string): string[] {
    const index = this.#indices.get(indexName);
    if (!index) throw new Error(`store: no indexer named ${JSON.stringify(indexName)}`);
    return [...(index.get(value) ?? [])];
  }

  /** The values an index currently holds (e.g. every namespace with objects). */
  indexValues(indexName: string): string[] {
    const index = this.#indices.get(indexName);
    if (!index) throw new Error(`store: no indexer named ${JSON.stringify(indexName)}`);
    return [...index.keys()];
  }

  /** Transforms and stores an object; returns the stored form and what it replaced. */
  upsert(raw: KubeObject): { key: string; old: T | undefined; stored: T } {
    const stored = this.prepare(raw);
    const key = objectKey(stored);
    // Index values first: a throwing indexer leaves the store untouched.
    const values = this.#computeIndex(stored);
    const old = this.#items.get(key);
    if (old) this.#unindex(key, old);
    this.#items.set(key, stored);
    this.#applyIndex(key, values);
    return { key, old, stored };
  }

  /** Removes by key; returns the removed object. */
  delete(key: string): T | undefined {
    const old = this.#items.get(key);
    if (!old) return undefined;
    this.#unindex(key, old);
    this.#items.delete(key);
    return old;
  }

  /**
   * Replaces the whole content in one synchronous step (a relist). Objects whose
   * resourceVersion did not change keep their stored instance and are not reported.
   * `alreadyPrepared`: the items went through prepare() already (while the list was parsed).
   */
  replace(raws: readonly KubeObject[], alreadyPrepared = false): ReplaceResult<T> {
    const next = new Map<string, { obj: T; values: IndexValues }>();
    const result: ReplaceResult<T> = { added: [], updated: [], deleted: [] };
    for (const raw of raws) {
      const prepared = alreadyPrepared ? (raw as T) : this.prepare(raw);
      const key = objectKey(prepared);
      const old = this.#items.get(key);
      const unchanged = old && old.metadata?.resourceVersion === prepared.metadata?.resourceVersion && old.metadata?.uid === prepared.metadata?.uid;
      const obj = unchanged ? old : prepared;
      if (next.has(key)) continue;
      next.set(key, { obj, values: this.#computeIndex(obj) });
      if (!old) result.added.push(obj);
      else if (!unchanged) result.updated.push({ old, new: obj });
    }
    for (const [key, old] of this.#items) {
      if (!next.has(key)) result.deleted.push({ key, old });
    }
    this.#items.clear();
    for (const index of this.#indices.values()) index.clear();
    for (const [key, { obj, values }] of next) {
      this.#items.set(key, obj);
      this.#applyIndex(key, values);
    }
    return result;
  }

  /** The stored form of an object (the transform applied), without storing it. */
  prepare(raw: KubeObject): T {
    return this.#transform ? this.#transform(raw) : (raw as T);
  }

  #addIndexer(name: string, fn: IndexFunc<T>): void {
    this.#indexers.set(name, fn);
    this.#indices.set(name, new Map());
  }

  #computeIndex(obj: T): IndexValues {
    const out: IndexValues = [];
    for (const [name, fn] of this.#indexers) out.push([name, safeIndex(fn, obj, name)]);
    return out;
  }

  #applyIndex(key: string, values: IndexValues): void {
    for (const [name, vals] of values) {
      const index = this.#indices.get(name)!;
      for (const v of vals) {
        let set = index.get(v);
        if (!set) index.set(v, (set = new Set()));
        set.add(key);
      }
    }
  }

  #unindex(key: string, obj: T): void {
    for (const [name, fn] of this.#indexers) {
      const index = this.#indices.get(name)!;
      let vals: readonly string[];
      try {
        vals = fn(obj);
      } catch {
        continue; // it indexed fine when stored; a pure indexer cannot fail now
      }
      for (const v of vals) {
        const set = index.get(v);
        if (!set) continue;
        set.delete(key);
        if (set.size === 0) index.delete(v);
      }
    }
  }
}

type IndexValues = [name: string, values: readonly string[]][];

function safeIndex<T>(fn: IndexFunc<T>, obj: T, name: string): readonly string[] {
  try {
    return fn(obj);
  } catch (err) {
    throw new Error(`store: indexer ${JSON.stringify(name)} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
