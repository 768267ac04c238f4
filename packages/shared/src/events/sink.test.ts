import { describe, expect, it } from '@jest/globals';
import type { KubeRequest } from '../kube/transport.js';
import { apiEventSink } from './sink.js';
import type { CoreV1EventBody } from './types.js';

describe('apiEventSink', () => {
  it('sends event creates and patches as deferrable requests, so the rate limiter serves controllers first', async () => {
    const sent: KubeRequest[] = [];
    const client = {
      request: async <T>(req: KubeRequest): Promise<T> => {
        sent.push(req);
        return (req.body ?? {}) as T;
      },
    };
    const sink = apiEventSink(client);
    const event = { metadata: { name: 'pvc-1.abc', namespace: 'ns' }, involvedObject: { kind: 'PersistentVolumeClaim', name: 'pvc-1' }, reason: 'R', message: 'm' } as CoreV1EventBody;
    await sink.create(event);
    await sink.patch(event, { count: 2 });
    expect(sent.map((r) => [r.method, r.path, r.priority])).toEqual([
      ['POST', '/api/v1/namespaces/ns/events', 'deferrable'],
      ['PATCH', '/api/v1/namespaces/ns/events/pvc-1.abc', 'deferrable'],
    ]);
  });
});
