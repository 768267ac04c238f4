import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import type { DisposableStore } from '../lifecycle/disposable.js';
import { CsiCallError, CsiInvalidResponseError, GrpcCode, isFinalError } from './errors.js';
import { CsiOperationMetrics } from './metrics.js';
import { STRIPPED } from './sanitize.js';
import type { CreateVolumeRequest } from './types.js';
import { eventually, harness, logRecords, newStore } from './__fixtures__/harness.js';

let store: DisposableStore;
beforeEach(() => {
  store = newStore();
});
afterEach(async () => {
  await store.dispose();
});

const mountRWO = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' as const } };

function createRequest(overrides: Partial<CreateVolumeRequest> = {}): CreateVolumeRequest {
  return { name: 'pvc-1', capacity_range: { required_bytes: 1n << 30n }, volume_capabilities: [mountRWO], ...overrides };
}

async function started(options: Parameters<typeof harness>[1] = {}) {
  const h = await harness(store, options);
  await h.connection.start();
  return h;
}

describe('CSI calls', () => {
  it('fails with DeadlineExceeded (not final) when the driver hangs past --timeout', async () => {
    const h = await started();
    const hang = h.plugin.hang('CreateVolume');
    const err = await h.connection.controller.createVolume(createRequest(), { timeoutMs: 150 }).catch((e: unknown) => e);
    hang.release();
    expect(err).toBeInstanceOf(CsiCallError);
    const e = err as CsiCallError;
    expect(e.code).toBe(GrpcCode.DeadlineExceeded);
    expect(e.codeName).toBe('DeadlineExceeded');
    expect(e.isFinal).toBe(false);
    expect(e.method).toBe('/csi.v1.Controller/CreateVolume');
    // The same words on every retry (as Go's), so repeated events correlate into one.
    expect(e.message).toBe('rpc error: code = DeadlineExceeded desc = context deadline exceeded');
  });

  it('uses the connection timeout when the call does not set one', async () => {
    const h = await started({ connection: { timeoutMs: 200 } });
    const hang = h.plugin.hang('DeleteVolume');
    const err = await h.connection.controller.deleteVolume({ volume_id: 'vol-1' }).catch((e: unknown) => e);
    hang.release();
    expect((err as CsiCallError).codeName).toBe('DeadlineExceeded');
  });

  it('passes the driver status through, final for NotFound', async () => {
    const h = await started();
    const err = await h.connection.controller
      .controllerPublishVolume({ volume_id: 'missing', node_id: 'node-1', volume_capability: mountRWO })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CsiCallError);
    expect((err as CsiCallError).message).toBe('rpc error: code = NotFound desc = volume missing not found');
    expect((err as CsiCallError).details).toBe('volume missing not found');
    expect(isFinalError(err)).toBe(true);
  });

  it('reports a response that does not decode as a clear Internal error and keeps the connection', async () => {
    const h = await started();
    h.plugin.garbage('CreateVolume', 'bytes');
    const err = await h.connection.controller.createVolume(createRequest()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CsiCallError);
    expect((err as CsiCallError).codeName).toBe('Internal');
    expect((err as CsiCallError).details).toMatch(/parsing/i);

    h.plugin.resetHandler('CreateVolume');
    const ok = await h.connection.controller.createVolume(createRequest());
    expect(ok.volume?.volume_id).toBe('vol-1');
    expect(h.lost).toHaveLength(0);
    expect(h.connection.state).toBe('ready');
  });

  it('rejects an OK response that lacks required fields with a non-final error', async () => {
    const h = await started();
    h.plugin.garbage('CreateVolume', 'empty');
    const err = await h.connection.controller.createVolume(createRequest()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CsiInvalidResponseError);
    expect((err as Error).message).toBe(
      'CSI driver returned an invalid response to /csi.v1.Controller/CreateVolume: required field "volume" is missing',
    );
    expect(isFinalError(err)).toBe(false);

    h.plugin.respond('CreateVolume', { volume: { capacity_bytes: 5n } });
    await expect(h.connection.controller.createVolume(createRequest())).rejects.toThrow('required field "volume.volume_id" is empty');
  });

  it('cancels a call when its signal aborts (Canceled, not final)', async () => {
    const h = await started();
    const hang = h.plugin.hang('ControllerExpandVolume');
    const abort = new AbortController();
    const pending = h.connection.controller
      .controllerExpandVolume({ volume_id: 'vol-1', capacity_range: { required_bytes: 1n } }, { signal: abort.signal })
      .catch((e: unknown) => e);
    await h.plugin.waitForCalls('ControllerExpandVolume');
    abort.abort();
    const err = await pending;
    hang.release();
    expect((err as CsiCallError).codeName).toBe('Canceled');
    expect((err as CsiCallError).isFinal).toBe(false);
  });

  it('carries 64-bit sizes exactly in both directions', async () => {
    const big = 2n ** 53n + 1n;
    const max = 2n ** 63n - 1n;
    const h = await started({ plugin: { store: { totalCapacity: max, maximumVolumeSize: max } } });

    const created = await h.connection.controller.createVolume(createRequest({ capacity_range: { required_bytes: big } }));
    expect(created.volume?.capacity_bytes).toBe(big);
    expect(h.plugin.callsTo('CreateVolume')[0]?.request.capacity_range?.required_bytes).toBe(big);

    const capacity = await h.connection.controller.getCapacity({});
    expect(capacity.available_capacity).toBe(max - big);
    expect(capacity.maximum_volume_size?.value).toBe(max);
    expect(capacity.minimum_volume_size).toBeNull();
  });

  it('refuses a request whose 64-bit field is not an integer, before sending anything', async () => {
    const h = await started();
    const bad = createRequest({ capacity_range: { required_bytes: 1.5 as unknown as bigint } });
    await expect(h.connection.controller.createVolume(bad)).rejects.toThrow(
      'CreateVolumeRequest.capacity_range.required_bytes: 1.5 is not an exact integer; pass 64-bit values as bigint',
    );
    expect(h.plugin.callsTo('CreateVolume')).toHaveLength(0);
  });

  it('pages through ListVolumes with published node ids', async () => {
    const h = await started();
    h.plugin.store.seed({ volumeId: 'a', publishedTo: ['node-1'] });
    h.plugin.store.seed({ volumeId: 'b' });
    h.plugin.store.seed({ volumeId: 'c', publishedTo: ['node-1', 'node-2'] });
    const first = await h.connection.controller.listVolumes({ max_entries: 2 });
    expect(first.entries.map((e) => e.volume?.volume_id)).toEqual(['a', 'b']);
    expect(first.next_token).toBe('2');
    const second = await h.connection.controller.listVolumes({ max_entries: 2, starting_token: first.next_token });
    expect(second.entries.map((e) => e.status?.published_node_ids)).toEqual([['node-1', 'node-2']]);
    expect(second.next_token).toBe('');
  });
});

describe('CSI call logging', () => {
  it('logs requests and responses at V(5) with every csi_secret field stripped', async () => {
    const h = await started();
    await h.connection.controller.createVolume(createRequest({ secrets: { password: 'hunter2' }, parameters: { type: 'fast' } }));
    await h.connection.controller.controllerPublishVolume({
      volume_id: 'vol-1',
      node_id: 'node-1',
      volume_capability: mountRWO,
      secrets: { token: 's3cr3t' },
    });

    const text = h.lines.join('\n');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('s3cr3t');
    const calls = logRecords(h.lines).filter((r) => r.msg === 'GRPC call');
    const create = calls.find((r) => r.method === '/csi.v1.Controller/CreateVolume');
    expect(JSON.parse(create?.request as string)).toEqual({
      name: 'pvc-1',
      capacity_range: { required_bytes: 1073741824 },
      parameters: { type: 'fast' },
      secrets: STRIPPED,
      volume_capabilities: [{ access_mode: { mode: 'SINGLE_NODE_WRITER' }, mount: { fs_type: 'ext4' } }],
    });
    const responses = logRecords(h.lines).filter((r) => r.msg === 'GRPC response');
    expect(responses.at(-1)).toMatchObject({ response: '{"publish_context":{"devicePath":"/dev/fake/vol-1"}}', err: null });
  });

  it('logs the error of a failed call', async () => {
    const h = await started();
    h.plugin.fail('DeleteVolume', GrpcCode.FailedPrecondition, 'volume in use');
    await h.connection.controller.deleteVolume({ volume_id: 'vol-1' }).catch(() => undefined);
    expect(logRecords(h.lines).at(-1)).toMatchObject({
      msg: 'GRPC response',
      response: '{}',
      err: 'rpc error: code = FailedPrecondition desc = volume in use',
    });
  });

  it('writes no call logs below V(5)', async () => {
    const h = await started({ verbosity: 4 });
    await h.connection.controller.createVolume(createRequest());
    expect(logRecords(h.lines).some((r) => r.msg === 'GRPC call' || r.msg === 'GRPC response')).toBe(false);
  });

  it('caps logged responses at --max-grpc-log-length', async () => {
    const h = await started({ connection: { maxGrpcLogLength: 20 } });
    await h.connection.identity.getPluginInfo();
    const last = logRecords(h.lines).filter((r) => r.msg === 'GRPC response').at(-1);
    expect(last?.response).toBe('{"name":"fake.csi.ex [response body too large, log capped to 20 chars]');
  });
});

describe('CSI call metrics', () => {
  it('records csi_sidecar_operations_seconds with the Go label values', async () => {
    const registry = new Registry();
    const metrics = new CsiOperationMetrics({ registry });
    const h = await started({ connection: { metrics } });
    await h.connection.controller.createVolume(createRequest());
    h.plugin.fail('DeleteVolume', GrpcCode.NotFound, 'gone');
    await h.connection.controller.deleteVolume({ volume_id: 'x' }).catch(() => undefined);
    const hang = h.plugin.hang('ControllerUnpublishVolume');
    await h.connection.controller.controllerUnpublishVolume({ volume_id: 'x' }, { timeoutMs: 100 }).catch(() => undefined);
    hang.release();

    const histogram = (await registry.getMetricsAsJSON()).find((m) => m.name === 'csi_sidecar_operations_seconds');
    const counts = (histogram?.values as { metricName?: string; labels: object; value: number }[])
      .filter((v) => v.metricName === 'csi_sidecar_operations_seconds_count')
      .map((v) => ({ ...v.labels, count: v.value }));
    expect(counts).toEqual(
      expect.arrayContaining([
        { driver_name: 'unknown-driver', method_name: '/csi.v1.Identity/Probe', grpc_status_code: 'OK', count: 1 },
        { driver_name: 'unknown-driver', method_name: '/csi.v1.Identity/GetPluginInfo', grpc_status_code: 'OK', count: 1 },
        { driver_name: 'fake.csi.example.com', method_name: '/csi.v1.Identity/GetPluginCapabilities', grpc_status_code: 'OK', count: 1 },
        { driver_name: 'fake.csi.example.com', method_name: '/csi.v1.Controller/CreateVolume', grpc_status_code: 'OK', count: 1 },
        { driver_name: 'fake.csi.example.com', method_name: '/csi.v1.Controller/DeleteVolume', grpc_status_code: 'NotFound', count: 1 },
        {
          driver_name: 'fake.csi.example.com',
          method_name: '/csi.v1.Controller/ControllerUnpublishVolume',
          grpc_status_code: 'DeadlineExceeded',
          count: 1,
        },
      ]),
    );
    await eventually(() => hang.waiting === 0, 'held call to end');
  });
});
