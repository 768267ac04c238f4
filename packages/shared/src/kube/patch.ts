// Patch bodies the Go sidecars send: RFC 7386 JSON merge patches computed from old and new
// objects (only what changed; null removes a field) and RFC 6902 JSON patches with `test` ops as
// optimistic preconditions. Also the two appliers, for the fake apiserver and for checking
// that a computed patch really turns old into new.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);
}

/** JSON form of a value: Dates (client-node's typed models) become RFC 3339 strings, undefined fields vanish. */
export function toJson(v: unknown): JsonValue {
  if (v === undefined) return null;
  return JSON.parse(JSON.stringify(v)) as JsonValue;
}

function equalJson(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) {
    const ta = a instanceof Date ? a.getTime() : typeof a === 'string' ? Date.parse(a) : NaN;
    const tb = b instanceof Date ? b.getTime() : typeof b === 'string' ? Date.parse(b) : NaN;
    return ta === tb;
  }
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => equalJson(x, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => k in b && equalJson(a[k], b[k]));
  }
  return false;
}

export interface MergePatchOptions {
  /**
   * Put old's metadata.resourceVersion into the patch, so the apiserver rejects it with 409 if
   * the object changed meanwhile (what external-resizer does for PVC patches).
   */
  withResourceVersion?: boolean;
}

/**
 * The RFC 7386 merge patch that turns `oldObj` into `newObj`: changed and added fields with their
 * new values, removed fields as null, arrays replaced whole. `{}` when nothing changed. A field
 * set to null in `newObj` counts as removed (a merge patch cannot set null).
 */
export function createMergePatch(oldObj: unknown, newObj: unknown, opts: MergePatchOptions = {}): Record<string, JsonValue> {
  if (!isPlainObject(oldObj) || !isPlainObject(newObj)) {
    throw new Error('createMergePatch needs two objects');
  }
  const patch = diffObjects(oldObj, newObj);
  if (opts.withResourceVersion) {
    const rv = (oldObj.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion;
    if (typeof rv !== 'string' || rv === '') throw new Error('createMergePatch: withResourceVersion needs old.metadata.resourceVersion');
    const meta = isPlainObject(patch.metadata) ? patch.metadata : {};
    patch.metadata = { ...meta, resourceVersion: rv };
  }
  return patch;
}

function diffObjects(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [k, bv] of Object.entries(b)) {
    if (bv === undefined || bv === null) continue;
    const av = a[k];
    if (av === undefined || av === null) {
      out[k] = toJson(bv);
    } else if (isPlainObject(av) && isPlainObject(bv)) {
      const sub = diffObjects(av, bv);
      if (Object.keys(sub).length > 0) out[k] = sub;
    } else if (!equalJson(av, bv)) {
      out[k] = toJson(bv);
    }
  }
  for (const [k, av] of Object.entries(a)) {
    if (av === undefined || av === null) continue;
    const bv = b[k];
    if (bv === undefined || bv === null) out[k] = null;
  }
  return out;
}

export function isEmptyPatch(patch: Record<string, unknown> | readonly unknown[]): boolean {
  return Array.isArray(patch) ? patch.length === 0 : Object.keys(patch).length === 0;
}

/** RFC 7386 apply: returns a new value, inputs untouched. */
export function applyMergePatch(target: unknown, patch: unknown): JsonValue {
  if (!isPlainObject(patch)) return toJson(patch);
  const base: Record<string, JsonValue> = isPlainObject(target) ? (toJson(target) as Record<string, JsonValue>) : {};
  for (const [k, pv] of Object.entries(patch)) {
    if (pv === null) delete base[k];
    else if (pv !== undefined) base[k] = applyMergePatch(base[k], pv);
  }
  return base;
}

// ---- RFC 6902 JSON patch ----

export type JsonPatchOp =
  | { op: 'add' | 'replace' | 'test'; path: string; value: JsonValue }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; from: string; path: string };

export type PointerPath = string | readonly (string | number)[];

/** An RFC 6901 pointer from segments: jsonPointer('metadata', 'annotations', 'a/b') → /metadata/annotations/a~1b. */
export function jsonPointer(...segments: (string | number)[]): string {
  return segments.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

function pointer(p: PointerPath): string {
  if (typeof p === 'string') {
    if (p !== '' && !p.startsWith('/')) throw new Error(`JSON pointer ${JSON.stringify(p)} must start with "/"`);
    return p;
  }
  return jsonPointer(...p);
}

/**
 * Builds a JSON patch. Put `test` ops first to make the patch conditional, e.g.
 * `new JsonPatchBuilder().test(['metadata','resourceVersion'], rv).remove(['metadata','finalizers', 2]).build()`.
 */
export class JsonPatchBuilder {
  readonly #ops: JsonPatchOp[] = [];

  test(path: PointerPath, value: unknown): this {
    this.#ops.push({ op: 'test', path: pointer(path), value: toJson(value) });
    return this;
  }

  add(path: PointerPath, value: unknown): this {
    this.#ops.push({ op: 'add', path: pointer(path), value: toJson(value) });
    return this;
  }

  replace(path: PointerPath, value: unknown): this {
    this.#ops.push({ op: 'replace', path: pointer(path), value: toJson(value) });
    return this;
  }

  remove(path: PointerPath): this {
    this.#ops.push({ op: 'remove', path: pointer(path) });
    return this;
  }

  move(from: PointerPath, path: PointerPath): this {
    this.#ops.push({ op: 'move', from: pointer(from), path: pointer(path) });
    return this;
  }

  copy(from: PointerPath, path: PointerPath): this {
    this.#ops.push({ op: 'copy', from: pointer(from), path: pointer(path) });
    return this;
  }

  get length(): number {
    return this.#ops.length;
  }

  build(): JsonPatchOp[] {
    return this.#ops.map((o) => ({ ...o }));
  }
}

export class JsonPatchError extends Error {
  override readonly name = 'JsonPatchError';
  /** True when a `test` op failed (the precondition did not hold). */
  readonly testFailed: boolean;

  constructor(message: string, testFailed = false) {
    super(message);
    this.testFailed = testFailed;
  }
}

function parsePointer(p: string): string[] {
  if (p === '') return [];
  return p
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

type Container = Record<string, JsonValue> | JsonValue[];

function resolveParent(doc: JsonValue, path: string): { parent: Container; key: string } {
  const segs = parsePointer(path);
  if (segs.length === 0) throw new JsonPatchError(`path ${JSON.stringify(path)}: the whole document cannot be the target here`);
  let cur: JsonValue = doc;
  for (const s of segs.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(s)] as JsonValue;
    else if (cur !== null && typeof cur === 'object') cur = cur[s] as JsonValue;
    else cur = undefined as unknown as JsonValue;
    if (cur === undefined || cur === null || typeof cur !== 'object') throw new JsonPatchError(`path ${JSON.stringify(path)} does not exist`);
  }
  return { parent: cur as Container, key: segs[segs.length - 1]! };
}

function getAt(doc: JsonValue, path: string): JsonValue | undefined {
  let cur: JsonValue | undefined = doc;
  for (const s of parsePointer(path)) {
    if (Array.isArray(cur)) cur = cur[Number(s)];
    else if (cur !== null && typeof cur === 'object') cur = Object.prototype.hasOwnProperty.call(cur, s) ? cur[s] : undefined;
    else return undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

function arrayIndex(arr: JsonValue[], key: string, forAdd: boolean, path: string): number {
  if (forAdd && key === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(key)) throw new JsonPatchError(`path ${JSON.stringify(path)}: ${JSON.stringify(key)} is not an array index`);
  const i = Number(key);
  if (i > arr.length || (!forAdd && i === arr.length)) throw new JsonPatchError(`path ${JSON.stringify(path)}: index ${i} out of range`);
  return i;
}

function removeAt(doc: JsonValue, path: string): JsonValue {
  const { parent, key } = resolveParent(doc, path);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, key, false, path);
    return parent.splice(i, 1)[0] as JsonValue;
  }
  if (!Object.prototype.hasOwnProperty.call(parent, key)) throw new JsonPatchError(`path ${JSON.stringify(path)} does not exist`);
  const v = parent[key] as JsonValue;
  delete parent[key];
  return v;
}

function addAt(doc: JsonValue, path: string, value: JsonValue, replace: boolean): JsonValue {
  if (path === '') return value;
  const { parent, key } = resolveParent(doc, path);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, key, !replace, path);
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
  } else {
    if (replace && !Object.prototype.hasOwnProperty.call(parent, key)) throw new JsonPatchError(`path ${JSON.stringify(path)} does not exist`);
    parent[key] = value;
  }
  return doc;
}

/** RFC 6902 apply: returns a new document; throws JsonPatchError (testFailed for a failed test). */
export function applyJsonPatch(docIn: unknown, ops: readonly JsonPatchOp[]): JsonValue {
  let doc = toJson(docIn);
  for (const op of ops) {
    switch (op.op) {
      case 'test': {
        // kube-apiserver's JSON patch treats a missing member as null, so `test` with value null
        // passes on an absent path (a common precondition: "no finalizers yet").
        const cur = getAt(doc, op.path);
        if (cur === undefined ? op.value !== null : !equalJson(cur, op.value)) {
          throw new JsonPatchError(`test failed at ${op.path}: expected ${JSON.stringify(op.value)}, found ${JSON.stringify(cur)}`, true);
        }
        break;
      }
      case 'add':
        doc = addAt(doc, op.path, toJson(op.value), false);
        break;
      case 'replace':
        doc = addAt(doc, op.path, toJson(op.value), true);
        break;
      case 'remove':
        removeAt(doc, op.path);
        break;
      case 'move': {
        const v = removeAt(doc, op.from);
        doc = addAt(doc, op.path, v, false);
        break;
      }
      case 'copy': {
        const v = getAt(doc, op.from);
        if (v === undefined) throw new JsonPatchError(`path ${JSON.stringify(op.from)} does not exist`);
        doc = addAt(doc, op.path, toJson(v), false);
        break;
      }
      default:
        throw new JsonPatchError(`unknown JSON patch op ${JSON.stringify((op as { op: unknown }).op)}`);
    }
  }
  return doc;
}
