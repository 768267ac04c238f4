// Where events go: the core/v1 events API (client-go's EventSinkImpl). Duplicates are patched
// with a strategic-merge patch, as client-go does.

import { createObject, patchObject } from '../kube/crud.js';
import type { KubeRequester } from '../kube/crud.js';
import { EVENTS } from '../kube/resources.js';
import type { CoreV1EventBody } from './types.js';

export interface EventSink {
  create(event: CoreV1EventBody): Promise<CoreV1EventBody>;
  patch(event: CoreV1EventBody, patch: Record<string, unknown>): Promise<CoreV1EventBody>;
}

/**
 * Writes events through any client that can send raw JSON requests (a KubeClient). Event writes
 * are deferrable: under the client's rate limit they let the controllers' own writes go first.
 */
export function apiEventSink(client: KubeRequester): EventSink {
  const deferrable: KubeRequester = { request: (req) => client.request({ ...req, priority: 'deferrable' }) };
  return {
    create: (event) => createObject(deferrable, EVENTS, event),
    patch: (event, patch) => patchObject<CoreV1EventBody>(deferrable, EVENTS, event.metadata.name, event.metadata.namespace, patch, 'strategic'),
  };
}
