// LIST and WATCH of one resource (optionally one namespace and selectors) over HTTP. The
// reflector only sees this interface, so its state machine can be tested with any transport,
// while production — and the integration suite against a real kube-apiserver — uses the real
// HTTP path below.

import type { KubeList, KubeObject } from './object.js';
import type { ResourceDescriptor } from './resources.js';
import { apiVersionOf, resourceId, resourcePath } from './resources.js';
import type { KubeBufferResponse, KubeRequest, KubeStreamResponse } from './transport.js';
import { parseListBody } from './list-parse.js';
import type { WatchEvent } from './watch-events.js';
import { parseWatchEvents } from './watch-events.js';

export interface ListCallOptions {
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  signal?: AbortSignal;
  /** Applied to each item as it is parsed (the cache transform): see list-parse.ts. */
  eachItem?: (item: KubeObject) => KubeObject;
}

export interface WatchCallOptions {
  resourceVersion: string;
  timeoutSeconds: number;
  allowWatchBookmarks: boolean;
  signal: AbortSignal;
  /**
   * A streaming list: the current state as ADDED events first, ended by a bookmark annotated
   * k8s.io/initial-events-end (with resourceVersionMatch=NotOlderThan).
   */
  sendInitialEvents?: boolean;
}

export interface ListWatcher {
  /** For log lines, e.g. 'v1/persistentvolumeclaims'. */
  readonly description: string;
  list(opts: ListCallOptions): Promise<KubeList>;
  /** Resolves once the server accepted the watch; the events end when the server closes it or the signal aborts. */
  watch(opts: WatchCallOptions): Promise<AsyncIterable<WatchEvent>>;
}

export interface ListWatchTarget {
  resource: ResourceDescriptor;
  /** Only this namespace; all namespaces when omitted. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** The part of KubeClient the HTTP list-watcher needs. */
export interface ListWatchClient {
  request<T = unknown>(req: KubeRequest): Promise<T>;
  stream(req: KubeRequest): Promise<KubeStreamResponse>;
  /** When present, lists are parsed item by item from the bytes (less memory at start-up). */
  requestBuffer?(req: KubeRequest): Promise<KubeBufferResponse>;
}

export function describeTarget(t: ListWatchTarget): string {
  const parts = [resourceId(t.resource)];
  if (t.namespace) parts.push(`namespace=${t.namespace}`);
  if (t.labelSelector) parts.push(`labels=${t.labelSelector}`);
  if (t.fieldSelector) parts.push(`fields=${t.fieldSelector}`);
  return parts.join(' ');
}

export function httpListWatcher(client: ListWatchClient, target: ListWatchTarget): ListWatcher {
  const path = resourcePath(target.resource, { namespace: target.resource.namespaced ? target.namespace : undefined });
  const apiVersion = apiVersionOf(target.resource);
  const kind = target.resource.kind;
  const selectors = { labelSelector: target.labelSelector || undefined, fieldSelector: target.fieldSelector || undefined };
  return {
    description: describeTarget(target),
    async list(opts) {
      const req: KubeRequest = {
        method: 'GET',
        path,
        query: { ...selectors, limit: opts.limit || undefined, continue: opts.continue || undefined, resourceVersion: opts.resourceVersion || undefined },
        signal: opts.signal,
      };
      // List items come without apiVersion/kind; fill them so objects look the same as watched ones.
      const complete = (item: KubeObject): KubeObject => {
        item.apiVersion ??= apiVersion;
        item.kind ??= kind;
        return opts.eachItem ? opts.eachItem(item) : item;
      };
      let list: KubeList;
      if (client.requestBuffer) {
        const res = await client.requestBuffer(req);
        try {
          list = parseListBody(res.body, complete);
        } catch (err) {
          if (!(err instanceof SyntaxError)) throw err;
          throw new Error(`list ${describeTarget(target)}: the answer is not a list: ${err.message}`, { cause: err });
        }
        if (!list || !Array.isArray(list.items)) throw new Error(`list ${describeTarget(target)}: the answer has no items array`);
        return list;
      }
      list = await client.request<KubeList>(req);
      if (!list || !Array.isArray(list.items)) throw new Error(`list ${describeTarget(target)}: the answer has no items array`);
      list.items = (list.items as KubeObject[]).map(complete);
      return list;
    },
    async watch(opts) {
      const res = await client.stream({
        method: 'GET',
        path,
        query: {
          ...selectors,
          watch: 'true',
          resourceVersion: opts.resourceVersion || undefined,
          timeoutSeconds: opts.timeoutSeconds,
          allowWatchBookmarks: opts.allowWatchBookmarks || undefined,
          ...(opts.sendInitialEvents ? { sendInitialEvents: 'true', resourceVersionMatch: 'NotOlderThan' } : {}),
        },
        signal: opts.signal,
        // No transport timeout: some proxies hold the headers until the first event; the
        // reflector's inactivity timer covers a watch that never starts.
        timeoutMs: 0,
      });
      return parseWatchEvents(res.body as AsyncIterable<Buffer>);
    },
  };
}
