import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { DisposableStore } from '../lifecycle/disposable.js';
import { CsiAddressError } from './address.js';
import { CsiConnection, CsiConnectError } from './connection.js';
import type { CsiConnectionState } from './connection.js';
import { CsiCallError, GrpcCode } from './errors.js';
import { delay, eventually, harness, logRecords, newStore } from './__fixtures__/harness.js';

let store: DisposableStore;
beforeEach(() => {
  store = newStore();
});
afterEach(async () => {
  await store.dispose();
});

describe('CsiConnection start-up', () => {
  it('probes until the driver reports ready, then reads name and capabilities', async () => {
    const h = await harness(store);
    let probes = 0;
    h.plugin.setHandler('Probe', () => ({ ready: { value: ++probes >= 3 } }));
    const states: CsiConnectionState[] = [];
    const connection = store.add(
      new CsiConnection({
        address: h.plugin.address,
        probeIntervalMs: 20,
        logger: h.logger,
        onConnectionLost: () => undefined,
        onStateChange: (s) => states.push(s),
      }),
    );

    const info = await connection.start();

    expect(probes).toBe(3);
    expect(info.name).toBe('fake.csi.example.com');
    expect(connection.driverName).toBe('fake.csi.example.com');
    expect([...info.pluginCapabilities.services]).toEqual(['CONTROLLER_SERVICE']);
    expect([...info.pluginCapabilities.volumeExpansion]).toEqual(['ONLINE']);
    expect(connection.hasControllerCapability('PUBLISH_UNPUBLISH_VOLUME')).toBe(true);
    expect(connection.hasControllerCapability('CLONE_VOLUME')).toBe(false);
    expect(connection.state).toBe('ready');
    expect(states).toEqual(['waiting-for-socket', 'connecting', 'probing', 'fetching-info', 'ready']);
    const messages = logRecords(h.lines).map((r) => r.msg);
    expect(messages.filter((m) => m === 'CSI driver is not ready')).toHaveLength(2);
    expect(messages.filter((m) => m === 'Probing CSI driver for readiness')).toHaveLength(3);
  });

  it('treats a Probe response without `ready` as ready', async () => {
    const h = await harness(store);
    h.plugin.respond('Probe', {});
    await h.connection.start();
    expect(h.plugin.callsTo('Probe')).toHaveLength(1);
  });

  it('keeps probing after a probe times out', async () => {
    const h = await harness(store, { connection: { timeoutMs: 150 } });
    const hang = h.plugin.hang('Probe');
    const started = h.connection.start();
    await h.plugin.waitForCalls('Probe', 2);
    hang.release();
    await started;
    expect(logRecords(h.lines).some((r) => r.msg === 'CSI driver probe timed out')).toBe(true);
  });

  it('fails when a probe ends with any other error, as the Go sidecars do', async () => {
    const h = await harness(store);
    h.plugin.fail('Probe', GrpcCode.Unavailable, 'driver is restarting');
    const err = await h.connection.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CsiConnectError);
    expect((err as Error).message).toBe(
      'CSI driver probe failed: rpc error: code = Unavailable desc = driver is restarting',
    );
    expect(h.connection.state).toBe('failed');
  });

  it('gives up probing after probeTimeoutMs', async () => {
    const h = await harness(store, { plugin: { ready: false }, connection: { probeTimeoutMs: 100 } });
    await expect(h.connection.start()).rejects.toThrow(/did not become ready within 100 ms/);
  });

  it('stops probing when the signal aborts', async () => {
    const h = await harness(store, { plugin: { ready: false } });
    const abort = new AbortController();
    const started = h.connection.start(abort.signal);
    await h.plugin.waitForCalls('Probe', 2);
    const reason = new Error('shutting down');
    abort.abort(reason);
    await expect(started).rejects.toBe(reason);
    expect(h.connection.state).toBe('failed');
  });

  it('waits for a socket that appears late', async () => {
    const h = await harness(store, { startPlugin: false });
    const started = h.connection.start();
    await eventually(() => h.connection.state === 'waiting-for-socket', 'waiting for the socket');
    await delay(150);
    expect(h.connection.state).toBe('waiting-for-socket');
    await h.plugin.start();
    await expect(started).resolves.toMatchObject({ name: 'fake.csi.example.com' });
  });

  it('fails with a clear error when the socket never appears', async () => {
    const h = await harness(store, { startPlugin: false, connection: { connectTimeoutMs: 150 } });
    const err = await h.connection.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CsiConnectError);
    expect((err as Error).message).toBe(
      `failed to connect to CSI driver at ${h.plugin.socketPath}: socket ${h.plugin.socketPath} did not appear within 150 ms`,
    );
  });

  it('fails with a clear error when something listens on the socket but never speaks gRPC', async () => {
    const h = await harness(store, { startPlugin: false, connection: { connectTimeoutMs: 300 } });
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(h.plugin.socketPath, resolve));
    store.defer(() => {
      for (const s of sockets) s.destroy();
      silent.close();
    });
    const err = await h.connection.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CsiConnectError);
    expect((err as Error).message).toMatch(
      new RegExp(`^failed to connect to CSI driver at ${h.plugin.socketPath}: not connected within 300 ms \\(channel state (CONNECTING|TRANSIENT_FAILURE)\\)$`),
    );
    expect(h.connection.state).toBe('failed');
  });

  it('fails start-up when the driver name is empty', async () => {
    const h = await harness(store);
    h.plugin.respond('GetPluginInfo', { name: '' });
    await expect(h.connection.start()).rejects.toThrow(
      'error getting CSI driver name: CSI driver returned an invalid response to /csi.v1.Identity/GetPluginInfo: required field "name" is empty',
    );
  });

  it('is idempotent: start() twice returns the same result and probes once', async () => {
    const h = await harness(store);
    const [a, b] = await Promise.all([h.connection.start(), h.connection.start()]);
    expect(a).toBe(b);
    expect(h.plugin.callsTo('Probe')).toHaveLength(1);
  });

  it('rejects a bad --csi-address in the constructor', () => {
    expect(() => new CsiConnection({ address: 'tcp://127.0.0.1:10000' })).toThrow(CsiAddressError);
  });
});

describe('CsiConnection capabilities', () => {
  it('reads identity and capabilities once and serves them from the cache', async () => {
    const h = await harness(store);
    await h.connection.start();
    h.plugin.controllerCapabilities = [];
    h.plugin.driverName = 'renamed.example.com';

    for (let i = 0; i < 3; i++) {
      expect(h.connection.hasControllerCapability('CREATE_DELETE_VOLUME')).toBe(true);
      expect(h.connection.hasPluginService('CONTROLLER_SERVICE')).toBe(true);
      expect(h.connection.driverName).toBe('fake.csi.example.com');
    }
    expect(h.plugin.callsTo('GetPluginInfo')).toHaveLength(1);
    expect(h.plugin.callsTo('GetPluginCapabilities')).toHaveLength(1);
    expect(h.plugin.callsTo('ControllerGetCapabilities')).toHaveLength(1);
  });

  it('skips ControllerGetCapabilities for a driver without a controller service when asked to', async () => {
    const h = await harness(store, {
      plugin: { pluginCapabilities: [] },
      connection: { controllerCapabilities: 'if-controller-service' },
    });
    const info = await h.connection.start();
    expect(info.controllerCapabilities.size).toBe(0);
    expect(h.plugin.callsTo('ControllerGetCapabilities')).toHaveLength(0);
  });

  it('always asks for controller capabilities by default (csi-provisioner)', async () => {
    const h = await harness(store, { plugin: { pluginCapabilities: [] } });
    const info = await h.connection.start();
    expect(info.controllerCapabilities.has('CREATE_DELETE_VOLUME')).toBe(true);
  });

  it('throws a clear error when capabilities are read before start', async () => {
    const h = await harness(store);
    expect(() => h.connection.info).toThrow('CSI driver information is not available yet (connection state: new)');
    expect(() => h.connection.controller).toThrow('CSI connection is not established (state: new)');
  });
});

describe('CsiConnection connection loss', () => {
  it('calls onConnectionLost once when the driver goes away', async () => {
    const h = await harness(store);
    await h.connection.start();
    await h.plugin.stop();
    await eventually(() => h.lost.length > 0, 'onConnectionLost');
    expect(h.connection.state).toBe('lost');
    expect(h.lost[0]).toMatchObject({ address: h.plugin.socketPath, socketPath: h.plugin.socketPath });

    // The driver coming back and going away again is not a second loss.
    await h.plugin.start();
    await delay(100);
    await h.plugin.stop();
    await delay(100);
    expect(h.lost).toHaveLength(1);
    expect(logRecords(h.lines).filter((r) => r.msg === 'Lost connection')).toHaveLength(1);
  });

  it('makes later calls fail with a non-final error after the loss', async () => {
    const h = await harness(store);
    await h.connection.start();
    await h.plugin.stop();
    await eventually(() => h.lost.length > 0, 'onConnectionLost');
    const err = await h.connection.controller.deleteVolume({ volume_id: 'vol-1' }, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CsiCallError);
    expect((err as CsiCallError).isFinal).toBe(false);
  });

  it('does not report a loss when we close the connection ourselves', async () => {
    const h = await harness(store);
    await h.connection.start();
    h.connection.dispose();
    await h.plugin.stop();
    await delay(100);
    expect(h.lost).toHaveLength(0);
    expect(h.connection.state).toBe('closed');
  });

  it('reports a loss that happens during start-up and fails start', async () => {
    const h = await harness(store, { plugin: { ready: false } });
    const outcome = h.connection.start().catch((e: unknown) => e);
    await h.plugin.waitForCalls('Probe', 1);
    await h.plugin.stop();
    expect(await outcome).toBeInstanceOf(CsiConnectError);
    await eventually(() => h.lost.length === 1, 'onConnectionLost');
    expect(h.connection.state).toBe('lost');
  });
});
