// An in-memory Kubernetes apiserver on 127.0.0.1 for tests: real HTTP, so the code under test
// runs its production transport. It serves get/list/create/update/patch/delete and the status
// subresource for the resources it knows, lists with limit/continue and label/field selectors,
// watches with history replay and bookmarks, finalizers with deletionTimestamp, and lets tests
// inject the faults a real apiserver shows: expired resourceVersions and continue tokens (410),
// dropped and stalled watch connections, and arbitrary error answers.
//
// Simplifications: strategic-merge and apply patches are applied as JSON merge patches (fine for
// the maps and scalars sidecars patch); no admission, defaulting or validation.

import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { KubeObject } from '../object.js';
import type { KubeStatus } from '../errors.js';
import { applyJsonPatch, applyMergePatch, JsonPatchError } from '../patch.js';
import type { JsonPatchOp } from '../patch.js';
import type { ResourceDescriptor } from '../resources.js';
import * as R from '../resources.js';
import { apiVersionOf, resourceId } from '../resources.js';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: string;
  watch: boolean;
}

export interface FailureMatch {
  method?: string;
  /** Substring or pattern the path (without query) must match. */
  path?: string | RegExp;
  /** Only watch requests (true) or only non-watch requests (false). */
  watch?: boolean;
}

export interface InjectedFailure {
  code: number;
  reason?: string;
  message?: string;
  /** Retry-After header in seconds. */
  retryAfterSeconds?: number;
}

export interface FakeApiServerOptions {
  /** Resources to serve; defaults to every descriptor exported by resources.ts. */
  resources?: ResourceDescriptor[];
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  token?: string;
  /**
   * How a watch from a compacted resourceVersion is refused: 'event' (200 + ERROR event with a
   * 410 Status, what kube-apiserver does) or 'http' (an HTTP 410 answer).
   */
  expiredWatch?: 'event' | 'http';
  /**
   * Streaming lists (watch with sendInitialEvents=true): served by default, like kube-apiserver
   * 1.32+; false answers 422 as a server with the WatchList feature off does.
   */
  watchList?: boolean;
}

interface HistoryEntry {
  rv: number;
  rid: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

interface WatchConn {
  rid: string;
  namespace: string | undefined;
  labelSelector: Selector;
  fieldSelector: Selector;
  bookmarks: boolean;
  res: http.ServerResponse;
  stalled: boolean;
  timer: NodeJS.Timeout | undefined;
}

interface ListSnapshot {
  rv: number;
  items: KubeObject[];
}

type Requirement = { key: string; op: '=' | '!=' | 'exists' | '!exists' | 'in' | 'notin'; values: string[] };
type Selector = Requirement[];

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const clone = <T>(v: T): T => structuredClone(v);

export class FakeApiServer {
  readonly #server: http.Server;
  readonly #resources = new Map<string, ResourceDescriptor>();
  /** rid → key → object */
  readonly #objects = new Map<string, Map<string, KubeObject>>();
  readonly #history: HistoryEntry[] = [];
  readonly #watches = new Set<WatchConn>();
  readonly #snapshots = new Map<string, ListSnapshot>();
  readonly #failures: { match: FailureMatch; failure: InjectedFailure; times: number }[] = [];
  readonly #opts: FakeApiServerOptions;
  #rv = 1000;
  /** Watches from a resourceVersion below this get 410. */
  #compactedRv = 0;
  #stallNew = false;
  #tmpDir: string | undefined;
  readonly requests: RecordedRequest[] = [];
  port = 0;

  private constructor(opts: FakeApiServerOptions) {
    this.#opts = opts;
    const all = opts.resources ?? Object.values(R).filter((v): v is ResourceDescriptor => typeof v === 'object' && v !== null && 'plural' in v);
    for (const r of all) this.#resources.set(resourceId(r), r);
    this.#server = http.createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) sendStatus(res, 500, 'InternalError', err instanceof Error ? err.message : String(err));
        else res.destroy();
      });
    });
    this.#server.keepAliveTimeout = 5000;
  }

  static async start(opts: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const s = new FakeApiServer(opts);
    await new Promise<void>((resolve, reject) => {
      s.#server.once('error', reject);
      s.#server.listen(0, '127.0.0.1', () => resolve());
    });
    s.port = (s.#server.address() as { port: number }).port;
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The current (latest) resourceVersion. */
  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** A kubeconfig for this server (skipTLSVerify: client-node refuses http:// without it). */
  kubeconfigYaml(opts: { server?: string; namespace?: string } = {}): string {
    const user = this.#opts.token ? `    token: ${this.#opts.token}\n` : '    {}\n';
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: fake',
      '  cluster:',
      `    server: ${opts.server ?? this.url}`,
      '    insecure-skip-tls-verify: true',
      'users:',
      '- name: fake',
      '  user:',
      user.trimEnd(),
      'contexts:',
      '- name: fake',
      '  context:',
      '    cluster: fake',
      '    user: fake',
      ...(opts.namespace ? [`    namespace: ${opts.namespace}`] : []),
      'current-context: fake',
      '',
    ].join('\n');
  }

  /** Writes the kubeconfig to a temp file (removed by close()) and returns its path. */
  writeKubeconfig(opts: { server?: string; namespace?: string; name?: string } = {}): string {
    this.#tmpDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'fake-apiserver-'));
    const file = path.join(this.#tmpDir, opts.name ?? 'kubeconfig');
    fs.writeFileSync(file, this.kubeconfigYaml(opts));
    return file;
  }

  async close(): Promise<void> {
    for (const w of this.#watches) this.#endWatch(w, true);
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    if (this.#tmpDir) fs.rmSync(this.#tmpDir, { recursive: true, force: true });
  }

  // ---- direct state access for tests (each change is a watch event) ----

  create<T extends KubeObject>(resource: ResourceDescriptor, obj: T): T {
    return this.#create(this.#rid(resource), clone(obj)) as T;
  }

  /** Replaces an object (no resourceVersion check) and emits MODIFIED. */
  update<T extends KubeObject>(resource: ResourceDescriptor, obj: T): T {
    const rid = this.#rid(resource);
    const key = keyOf(obj);
    const cur = this.#objects.get(rid)?.get(key);
    if (!cur) throw new Error(`fake apiserver: ${resource.kind} ${key} does not exist`);
    const next = clone(obj);
    next.metadata = { ...next.metadata, uid: cur.metadata?.uid, creationTimestamp: cur.metadata?.creationTimestamp };
    return this.#store(rid, next, 'MODIFIED') as T;
  }

  /** Deletes (honouring finalizers, like the apiserver) and emits the event. */
  remove(resource: ResourceDescriptor, name: string, namespace?: string): void {
    this.#delete(this.#rid(resource), namespace ? `${namespace}/${name}` : name, {});
  }

  get<T extends KubeObject>(resource: ResourceDescriptor, name: string, namespace?: string): T | undefined {
    const o = this.#objects.get(this.#rid(resource))?.get(namespace ? `${namespace}/${name}` : name);
    return o ? (clone(o) as T) : undefined;
  }

  list<T extends KubeObject>(resource: ResourceDescriptor, namespace?: string): T[] {
    const all = [...(this.#objects.get(this.#rid(resource))?.values() ?? [])];
    return all.filter((o) => !namespace || o.metadata?.namespace === namespace).map((o) => clone(o) as T);
  }

  // ---- fault injection ----

  /** Forgets history: watches from any resourceVersion before now get 410 Expired. */
  compact(): void {
    this.#compactedRv = this.#rv;
    this.#history.length = 0;
  }

  /** Invalidates every outstanding list continue token (410 Expired on use). */
  expireContinueTokens(): void {
    this.#snapshots.clear();
  }

  /** Sends a BOOKMARK with the current resourceVersion to every watch that allows bookmarks. */
  sendBookmarks(): void {
    for (const w of this.#watches) {
      if (!w.bookmarks || w.stalled) continue;
      const r = this.#resources.get(w.rid)!;
      this.#write(w, { type: 'BOOKMARK', object: { apiVersion: apiVersionOf(r), kind: r.kind, metadata: { resourceVersion: String(this.#rv) } } });
    }
  }

  /** Sends an ERROR event with a 410 Status to every open watch (stalled ones too) and ends it. */
  expireWatches(): void {
    this.sendWatchError({ code: 410, reason: 'Expired', message: 'too old resource version' });
  }

  /** Sends an ERROR event with this Status to every open watch (stalled ones too) and ends it. */
  sendWatchError(failure: InjectedFailure): void {
    const status: KubeStatus = { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: failure.code, reason: failure.reason ?? '', message: failure.message ?? '' };
    for (const w of [...this.#watches]) {
      w.stalled = false;
      this.#write(w, { type: 'ERROR', object: status });
      this.#endWatch(w, false);
    }
  }

  /** Destroys every watch connection mid-stream (no clean end). */
  dropWatches(): void {
    for (const w of [...this.#watches]) this.#endWatch(w, true);
  }

  /** Ends every watch cleanly, as a server-side timeout does. */
  closeWatches(): void {
    for (const w of [...this.#watches]) this.#endWatch(w, false);
  }

  /** Open watches stop receiving anything (a half-open connection); with `andNew`, so do new ones. */
  stallWatches(andNew = false): void {
    for (const w of this.#watches) w.stalled = true;
    this.#stallNew = andNew;
  }

  unstall(): void {
    this.#stallNew = false;
  }

  /** Answers the next `times` matching requests with an error Status. */
  failNext(match: FailureMatch, failure: InjectedFailure, times = 1): void {
    this.#failures.push({ match, failure, times });
  }

  openWatches(resource?: ResourceDescriptor): number {
    if (!resource) return this.#watches.size;
    const rid = resourceId(resource);
    return [...this.#watches].filter((w) => w.rid === rid).length;
  }

  // ---- HTTP ----

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const query = Object.fromEntries(url.searchParams);
    const isWatch = query.watch === 'true' || query.watch === '1';
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname, query, headers: req.headers, body, watch: isWatch });

    if (this.#opts.token && req.headers.authorization !== `Bearer ${this.#opts.token}`) {
      sendStatus(res, 401, 'Unauthorized', 'Unauthorized');
      return;
    }
    const injected = this.#takeFailure(method, url.pathname, isWatch);
    if (injected) {
      if (injected.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(injected.retryAfterSeconds));
      sendStatus(res, injected.code, injected.reason ?? '', injected.message ?? `injected failure ${injected.code}`);
      return;
    }
    try {
      const target = this.#parsePath(url.pathname);
      const { rid, namespace, name, subresource } = target;
      if (name === undefined) {
        if (method === 'GET' && isWatch) return this.#watch(rid, namespace, query, res);
        if (method === 'GET') return sendJson(res, 200, this.#list(rid, namespace, query));
        if (method === 'POST') {
          const obj = parseJson(body) as KubeObject;
          obj.metadata = { ...obj.metadata };
          if (target.resource.namespaced) {
            if (!namespace) throw new HttpError(400, 'BadRequest', 'namespace required');
            if (obj.metadata.namespace && obj.metadata.namespace !== namespace) throw new HttpError(400, 'BadRequest', 'the namespace of the object does not match the namespace of the URL');
            obj.metadata.namespace = namespace;
          }
          if (query.dryRun) return sendJson(res, 201, obj);
          return sendJson(res, 201, this.#create(rid, obj));
        }
        throw new HttpError(405, 'MethodNotAllowed', `${method} not allowed on a collection`);
      }
      const key = namespace ? `${namespace}/${name}` : name;
      if (subresource && subresource !== 'status') throw new HttpError(404, 'NotFound', `subresource ${subresource} not served`);
      switch (method) {
        case 'GET':
          return sendJson(res, 200, this.#mustGet(rid, key, target.resource));
        case 'PUT': {
          const obj = parseJson(body) as KubeObject;
          return sendJson(res, 200, this.#put(rid, key, obj, subresource === 'status', query.dryRun !== undefined));
        }
        case 'PATCH':
          return sendJson(res, 200, this.#patch(rid, key, String(req.headers['content-type'] ?? ''), body, subresource === 'status', query.dryRun !== undefined));
        case 'DELETE': {
          const opts = body ? (parseJson(body) as { preconditions?: { uid?: string; resourceVersion?: string } }) : {};
          return sendJson(res, 200, this.#delete(rid, key, opts));
        }
        default:
          throw new HttpError(405, 'MethodNotAllowed', `${method} not allowed`);
      }
    } catch (err) {
      if (err instanceof HttpError) sendStatus(res, err.code, err.reason, err.message);
      else throw err;
    }
  }

  #takeFailure(method: string, p: string, watch: boolean): InjectedFailure | undefined {
    for (const f of this.#failures) {
      if (f.times <= 0) continue;
      const m = f.match;
      if (m.method && m.method.toUpperCase() !== method) continue;
      if (m.watch !== undefined && m.watch !== watch) continue;
      if (m.path !== undefined && !(typeof m.path === 'string' ? p.includes(m.path) : m.path.test(p))) continue;
      f.times--;
      return f.failure;
    }
    return undefined;
  }

  #parsePath(p: string): { rid: string; resource: ResourceDescriptor; namespace?: string; name?: string; subresource?: string } {
    const segs = p.split('/').filter(Boolean).map(decodeURIComponent);
    let gv: string;
    let rest: string[];
    if (segs[0] === 'api' && segs.length >= 2) {
      gv = segs[1]!;
      rest = segs.slice(2);
    } else if (segs[0] === 'apis' && segs.length >= 3) {
      gv = `${segs[1]}/${segs[2]}`;
      rest = segs.slice(3);
    } else {
      throw new HttpError(404, 'NotFound', `the server could not find the requested resource (${p})`);
    }
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [plural, name, subresource] = rest;
    const rid = `${gv}/${plural}`;
    const resource = this.#resources.get(rid);
    if (!resource || rest.length > 3) throw new HttpError(404, 'NotFound', `the server could not find the requested resource (${p})`);
    if (!resource.namespaced && namespace) throw new HttpError(404, 'NotFound', `${resource.kind} is not namespaced`);
    if (resource.namespaced && name !== undefined && !namespace) throw new HttpError(404, 'NotFound', `${resource.kind} needs a namespace`);
    return { rid, resource, namespace, name, subresource };
  }

  #rid(resource: ResourceDescriptor): string {
    const rid = resourceId(resource);
    if (!this.#resources.has(rid)) throw new Error(`fake apiserver: resource ${rid} is not served`);
    return rid;
  }

  #bucket(rid: string): Map<string, KubeObject> {
    let m = this.#objects.get(rid);
    if (!m) this.#objects.set(rid, (m = new Map()));
    return m;
  }

  #mustGet(rid: string, key: string, resource?: ResourceDescriptor): KubeObject {
    const o = this.#objects.get(rid)?.get(key);
    if (!o) {
      const r = resource ?? this.#resources.get(rid)!;
      throw new HttpError(404, 'NotFound', `${r.plural}${r.group ? `.${r.group}` : ''} "${key.split('/').pop()}" not found`);
    }
    return clone(o);
  }

  #create(rid: string, obj: KubeObject): KubeObject {
    const r = this.#resources.get(rid)!;
    const meta = (obj.metadata ??= {});
    if (!meta.name && typeof meta.generateName === 'string') meta.name = `${meta.generateName}${randomUUID().slice(0, 5)}`;
    if (!meta.name) throw new HttpError(422, 'Invalid', `${r.kind}: metadata.name: Required value`);
    // The one name rule every resource has (path segment names); kinds add stricter ones.
    const badChar = ['/', '%'].find((c) => meta.name!.includes(c));
    if (badChar || meta.name === '.' || meta.name === '..') {
      const why = badChar ? `may not contain '${badChar}'` : `may not be '${meta.name}'`;
      throw new HttpError(422, 'Invalid', `${r.kind}${r.group ? `.${r.group}` : ''} "${meta.name}" is invalid: metadata.name: Invalid value: "${meta.name}": ${why}`);
    }
    if (r.namespaced && !meta.namespace) throw new HttpError(400, 'BadRequest', `${r.kind} ${meta.name}: namespace required`);
    const key = keyOf(obj);
    if (this.#bucket(rid).has(key)) throw new HttpError(409, 'AlreadyExists', `${r.plural}${r.group ? `.${r.group}` : ''} "${meta.name}" already exists`);
    meta.uid = randomUUID();
    meta.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    meta.generation = 1;
    delete meta.deletionTimestamp;
    obj.apiVersion = apiVersionOf(r);
    obj.kind = r.kind;
    return this.#store(rid, obj, 'ADDED');
  }

  #store(rid: string, obj: KubeObject, type: HistoryEntry['type']): KubeObject {
    const rv = ++this.#rv;
    obj.metadata = { ...obj.metadata, resourceVersion: String(rv) };
    const key = keyOf(obj);
    if (type === 'DELETED') this.#bucket(rid).delete(key);
    else this.#bucket(rid).set(key, clone(obj));
    const entry: HistoryEntry = { rv, rid, type, object: clone(obj) };
    this.#history.push(entry);
    for (const w of this.#watches) if (w.rid === rid) this.#sendEntry(w, entry);
    return clone(obj);
  }

  #put(rid: string, key: string, obj: KubeObject, status: boolean, dryRun: boolean): KubeObject {
    const cur = this.#mustGet(rid, key);
    const want = obj.metadata?.resourceVersion;
    if (want && want !== cur.metadata?.resourceVersion) throw conflict(this.#resources.get(rid)!, key);
    if (obj.metadata?.name && obj.metadata.name !== cur.metadata?.name) throw new HttpError(400, 'BadRequest', 'the name of the object does not match the name of the URL');
    return this.#commitUpdate(rid, cur, obj, status, dryRun);
  }

  #commitUpdate(rid: string, cur: KubeObject, obj: KubeObject, status: boolean, dryRun: boolean): KubeObject {
    const c = cur as Record<string, unknown>;
    const o = obj as Record<string, unknown>;
    let next: Record<string, unknown>;
    if (status) {
      // The status subresource changes only .status.
      next = { ...clone(c), status: clone(o.status) };
    } else {
      // The main resource ignores .status changes; identity fields stay the server's.
      next = { ...clone(o), status: clone(c.status) };
      if (next.status === undefined) delete next.status;
      const oldSpec = JSON.stringify(c.spec ?? null);
      const newSpec = JSON.stringify(next.spec ?? null);
      const meta = { ...(next.metadata as object) } as NonNullable<KubeObject['metadata']>;
      meta.generation = (cur.metadata?.generation ?? 1) + (oldSpec !== newSpec ? 1 : 0);
      next.metadata = meta;
    }
    const meta = (next.metadata ??= {}) as NonNullable<KubeObject['metadata']>;
    meta.name = cur.metadata?.name;
    meta.namespace = cur.metadata?.namespace;
    meta.uid = cur.metadata?.uid;
    meta.creationTimestamp = cur.metadata?.creationTimestamp;
    meta.deletionTimestamp = cur.metadata?.deletionTimestamp;
    if (meta.deletionTimestamp === undefined) delete meta.deletionTimestamp;
    next.apiVersion = cur.apiVersion;
    next.kind = cur.kind;
    if (dryRun) return next as KubeObject;
    if (JSON.stringify({ ...next, metadata: { ...meta, resourceVersion: undefined } }) === JSON.stringify({ ...c, metadata: { ...cur.metadata, resourceVersion: undefined } })) {
      // A no-op write does not bump the resourceVersion or produce an event.
      return cur;
    }
    const finalizersGone = meta.deletionTimestamp && (!meta.finalizers || meta.finalizers.length === 0);
    if (finalizersGone) return this.#store(rid, next as KubeObject, 'DELETED');
    return this.#store(rid, next as KubeObject, 'MODIFIED');
  }

  #patch(rid: string, key: string, contentType: string, body: string, status: boolean, dryRun: boolean): KubeObject {
    const cur = this.#mustGet(rid, key);
    const type = contentType.split(';')[0]!.trim();
    let patched: KubeObject;
    try {
      if (type === 'application/json-patch+json') {
        patched = applyJsonPatch(cur, parseJson(body) as JsonPatchOp[]) as KubeObject;
      } else if (type === 'application/merge-patch+json' || type === 'application/strategic-merge-patch+json' || type === 'application/apply-patch+yaml') {
        patched = applyMergePatch(cur, parseJson(body)) as KubeObject;
      } else {
        throw new HttpError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got ${JSON.stringify(contentType)})`);
      }
    } catch (err) {
      if (err instanceof JsonPatchError) throw new HttpError(422, 'Invalid', err.message);
      throw err;
    }
    // A resourceVersion in the patched object is a precondition, as on the real apiserver.
    const want = patched.metadata?.resourceVersion;
    if (want && want !== cur.metadata?.resourceVersion) throw conflict(this.#resources.get(rid)!, key);
    return this.#commitUpdate(rid, cur, patched, status, dryRun);
  }

  #delete(rid: string, key: string, opts: { preconditions?: { uid?: string; resourceVersion?: string } }): KubeObject {
    const cur = this.#mustGet(rid, key);
    const r = this.#resources.get(rid)!;
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== cur.metadata?.uid) throw new HttpError(409, 'Conflict', `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata?.uid}`);
    if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata?.resourceVersion) throw conflict(r, key);
    if (cur.metadata?.finalizers?.length) {
      if (cur.metadata.deletionTimestamp) return cur;
      cur.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      return this.#store(rid, cur, 'MODIFIED');
    }
    return this.#store(rid, cur, 'DELETED');
  }

  #list(rid: string, namespace: string | undefined, q: Record<string, string>): unknown {
    const r = this.#resources.get(rid)!;
    let snap: ListSnapshot;
    let offset = 0;
    let snapId: string;
    if (q.continue) {
      let tok: { id: string; offset: number };
      try {
        tok = JSON.parse(Buffer.from(q.continue, 'base64url').toString('utf8')) as { id: string; offset: number };
      } catch {
        throw new HttpError(400, 'BadRequest', 'invalid continue token');
      }
      const s = this.#snapshots.get(tok.id);
      if (!s) {
        throw new HttpError(
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        );
      }
      snap = s;
      offset = tok.offset;
      snapId = tok.id;
    } else {
      const ls = parseSelector(q.labelSelector ?? '');
      const fs = parseSelector(q.fieldSelector ?? '');
      const items = [...this.#bucket(rid).values()]
        .filter((o) => (!namespace || o.metadata?.namespace === namespace) && matchLabels(ls, o) && matchFields(fs, o))
        .sort((a, b) => keyOf(a).localeCompare(keyOf(b)))
        .map((o) => {
          const c = clone(o);
          // Like the real apiserver, list items carry no apiVersion/kind.
          delete c.apiVersion;
          delete c.kind;
          return c;
        });
      snap = { rv: this.#rv, items };
      snapId = randomUUID();
    }
    const limit = q.limit ? Number(q.limit) : 0;
    const end = limit > 0 ? Math.min(snap.items.length, offset + limit) : snap.items.length;
    const page = snap.items.slice(offset, end);
    const metadata: Record<string, unknown> = { resourceVersion: String(snap.rv) };
    if (end < snap.items.length) {
      this.#snapshots.set(snapId, snap);
      metadata.continue = Buffer.from(JSON.stringify({ id: snapId, offset: end })).toString('base64url');
      metadata.remainingItemCount = snap.items.length - end;
    } else {
      this.#snapshots.delete(snapId);
    }
    return { apiVersion: apiVersionOf(r), kind: `${r.kind}List`, metadata, items: page.map(clone) };
  }

  #watch(rid: string, namespace: string | undefined, q: Record<string, string>, res: http.ServerResponse): void {
    const w: WatchConn = {
      rid,
      namespace,
      labelSelector: parseSelector(q.labelSelector ?? ''),
      fieldSelector: parseSelector(q.fieldSelector ?? ''),
      bookmarks: q.allowWatchBookmarks === 'true' || q.allowWatchBookmarks === '1',
      res,
      stalled: this.#stallNew,
      timer: undefined,
    };
    const initialEvents = q.sendInitialEvents === 'true';
    if (initialEvents) {
      if (this.#opts.watchList === false) {
        sendStatus(res, 422, 'Invalid', 'sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled');
        return;
      }
      if (q.resourceVersionMatch !== 'NotOlderThan' || !w.bookmarks) {
        sendStatus(res, 422, 'Invalid', 'sendInitialEvents needs resourceVersionMatch=NotOlderThan and allowWatchBookmarks=true');
        return;
      }
    }
    const rvText = q.resourceVersion ?? '';
    const from = rvText === '' || rvText === '0' || initialEvents ? undefined : Number(rvText);
    if (from !== undefined && (!Number.isFinite(from) || from < this.#compactedRv)) {
      if (this.#opts.expiredWatch === 'http') {
        sendStatus(res, 410, 'Expired', `too old resource version: ${rvText} (${this.#compactedRv})`);
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
      res.end(`${JSON.stringify({ type: 'ERROR', object: expiredStatus(`too old resource version: ${rvText} (${this.#compactedRv})`) })}\n`);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    this.#watches.add(w);
    res.on('close', () => {
      if (w.timer) clearTimeout(w.timer);
      this.#watches.delete(w);
    });
    const timeout = Number(q.timeoutSeconds ?? 0);
    if (timeout > 0) w.timer = setTimeout(() => this.#endWatch(w, false), timeout * 1000);
    if (from === undefined) {
      // "Any"/"most recent" watches start with a synthetic ADDED per existing object.
      for (const o of this.#bucket(rid).values()) this.#sendEntry(w, { rv: Number(o.metadata?.resourceVersion), rid, type: 'ADDED', object: o });
      if (initialEvents) {
        // The end of the initial state, as kube-apiserver marks it for streaming lists.
        const r = this.#resources.get(rid)!;
        this.#write(w, {
          type: 'BOOKMARK',
          object: { apiVersion: apiVersionOf(r), kind: r.kind, metadata: { resourceVersion: String(this.#rv), annotations: { 'k8s.io/initial-events-end': 'true' } } },
        });
      }
    } else {
      for (const e of this.#history) if (e.rid === rid && e.rv > from) this.#sendEntry(w, e);
    }
  }

  #sendEntry(w: WatchConn, e: HistoryEntry): void {
    const o = e.object;
    if (w.namespace && o.metadata?.namespace !== w.namespace) return;
    if (!matchLabels(w.labelSelector, o) || !matchFields(w.fieldSelector, o)) return;
    this.#write(w, { type: e.type, object: o });
  }

  #write(w: WatchConn, ev: unknown): void {
    if (w.stalled || w.res.writableEnded || w.res.destroyed) return;
    w.res.write(`${JSON.stringify(ev)}\n`);
  }

  #endWatch(w: WatchConn, destroy: boolean): void {
    if (w.timer) clearTimeout(w.timer);
    this.#watches.delete(w);
    if (destroy) w.res.socket?.destroy();
    else if (!w.res.writableEnded) w.res.end();
  }
}

function keyOf(o: KubeObject): string {
  const name = o.metadata?.name ?? '';
  return o.metadata?.namespace ? `${o.metadata.namespace}/${name}` : name;
}

function conflict(r: ResourceDescriptor, key: string): HttpError {
  return new HttpError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${r.plural}${r.group ? `.${r.group}` : ''} "${key.split('/').pop()}": the object has been modified; please apply your changes to the latest version and try again`,
  );
}

function expiredStatus(message: string): KubeStatus {
  return { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason: 'Expired', code: 410 };
}

function sendJson(res: http.ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendStatus(res: http.ServerResponse, code: number, reason: string, message: string): void {
  sendJson(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'BadRequest', 'the request body is not valid JSON');
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Label-selector syntax: a=b, a==b, a!=b, a, !a, a in (x,y), a notin (x,y); comma-separated. */
function parseSelector(text: string): Selector {
  const out: Requirement[] = [];
  const parts = text.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  for (const raw of parts) {
    const p = raw.trim();
    if (!p) continue;
    let m: RegExpMatchArray | null;
    if ((m = p.match(/^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/))) {
      out.push({ key: m[1]!, op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map((s) => s.trim()).filter(Boolean) });
    } else if ((m = p.match(/^([^!=\s]+)\s*!=\s*(.*)$/))) {
      out.push({ key: m[1]!, op: '!=', values: [m[2]!.trim()] });
    } else if ((m = p.match(/^([^!=\s]+)\s*==?\s*(.*)$/))) {
      out.push({ key: m[1]!, op: '=', values: [m[2]!.trim()] });
    } else if ((m = p.match(/^!\s*(\S+)$/))) {
      out.push({ key: m[1]!, op: '!exists', values: [] });
    } else if (/^\S+$/.test(p)) {
      out.push({ key: p, op: 'exists', values: [] });
    } else {
      throw new HttpError(400, 'BadRequest', `unable to parse requirement: ${JSON.stringify(p)}`);
    }
  }
  return out;
}

function matches(sel: Selector, get: (key: string) => string | undefined): boolean {
  return sel.every((r) => {
    const v = get(r.key);
    switch (r.op) {
      case '=':
        return v === r.values[0];
      case '!=':
        return v !== r.values[0];
      case 'exists':
        return v !== undefined;
      case '!exists':
        return v === undefined;
      case 'in':
        return v !== undefined && r.values.includes(v);
      case 'notin':
        return v === undefined || !r.values.includes(v);
    }
  });
}

function matchLabels(sel: Selector, o: KubeObject): boolean {
  return matches(sel, (k) => o.metadata?.labels?.[k]);
}

function matchFields(sel: Selector, o: KubeObject): boolean {
  return matches(sel, (k) => {
    let cur: unknown = o;
    for (const part of k.split('.')) {
      if (cur === null || typeof cur !== 'object') return undefined;
      cur = (cur as Record<string, unknown>)[part];
    }
    // Field selectors compare text; an absent field matches as the empty string.
    return cur === undefined || cur === null ? '' : String(cur);
  });
}
