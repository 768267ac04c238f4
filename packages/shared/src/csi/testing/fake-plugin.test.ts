import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { DisposableStore } from '../../lifecycle/disposable.js';
import { CsiConnection } from '../connection.js';
import { CsiCallError, GrpcCode } from '../errors.js';
import { delay, eventually, harness, newStore } from '../__fixtures__/harness.js';
import { FakeCsiPlugin } from './fake-plugin.js';

let store: DisposableStore;
beforeEach(() => {
  store = newStore();
});
afterEach(async () => {
  await store.dispose();
});

describe('FakeCsiPlugin', () => {
  it('records calls with decoded requests', async () => {
    const h = await harness(store);
    await h.connection.start();
    await h.connection.controller.deleteVolume({ volume_id: 'vol-9', secrets: { k: 'v' } });
    expect(h.plugin.callsTo('DeleteVolume')).toEqual([
      { service: 'Controller', method: 'DeleteVolume', request: { volume_id: 'vol-9', secrets: { k: 'v' } }, outcome: 'OK' },
    ]);
    expect(h.plugin.calls.map((c) => c.method)).toEqual([
      'Probe',
      'GetPluginInfo',
      'GetPluginCapabilities',
      'ControllerGetCapabilities',
      'DeleteVolume',
    ]);
    h.plugin.clearCalls();
    expect(h.plugin.calls).toHaveLength(0);
  });

  it('fails a given number of times, then behaves as before', async () => {
    const h = await harness(store);
    await h.connection.start();
    h.plugin.fail('GetCapacity', GrpcCode.Unavailable, 'busy', 2);
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) {
      outcomes.push(
        await h.connection.controller.getCapacity({}).then(
          () => 'OK',
          (e: unknown) => (e as CsiCallError).codeName,
        ),
      );
    }
    expect(outcomes).toEqual(['Unavailable', 'Unavailable', 'OK']);
    expect(h.plugin.callsTo('GetCapacity').map((c) => c.outcome)).toEqual(['Unavailable', 'Unavailable', 'OK']);
  });

  it('holds calls until released', async () => {
    const h = await harness(store);
    await h.connection.start();
    const hang = h.plugin.hang('ControllerPublishVolume');
    h.plugin.store.seed({ volumeId: 'v' });
    const pending = h.connection.controller.controllerPublishVolume({
      volume_id: 'v',
      node_id: 'n',
      volume_capability: { mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } },
    });
    await eventually(() => hang.waiting === 1, 'the call to be held');
    await delay(50);
    expect(hang.waiting).toBe(1);
    hang.release();
    await expect(pending).resolves.toEqual({ publish_context: { devicePath: '/dev/fake/v' } });
    expect(hang.waiting).toBe(0);
  });

  it('answers UNIMPLEMENTED for methods it has no behaviour for', async () => {
    const h = await harness(store);
    await h.connection.start();
    const err = await h.connection.controller.createSnapshot({ source_volume_id: 'v', name: 's' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CsiCallError);
    expect((err as CsiCallError).codeName).toBe('Unimplemented');
  });

  it('serves a minimal node service', async () => {
    const h = await harness(store, { plugin: { nodeId: 'node-7', maxVolumesPerNode: 16n, nodeCapabilities: ['STAGE_UNSTAGE_VOLUME'] } });
    await h.connection.start();
    expect(await h.connection.node.nodeGetInfo()).toEqual({ node_id: 'node-7', max_volumes_per_node: 16n, accessible_topology: null });
    expect(await h.connection.node.nodeGetCapabilities()).toEqual({
      capabilities: [{ rpc: { type: 'STAGE_UNSTAGE_VOLUME' }, type: 'rpc' }],
    });
  });

  it('stops, restarts on the same socket path, and cleans up on dispose', async () => {
    const plugin = await FakeCsiPlugin.start();
    const path = plugin.socketPath;
    try {
      expect(existsSync(path)).toBe(true);
      await plugin.stop();
      expect(plugin.running).toBe(false);
      expect(existsSync(path)).toBe(false);
      await plugin.restart();
      expect(plugin.socketPath).toBe(path);
      expect(existsSync(path)).toBe(true);

      // A fresh client reaches the restarted plugin.
      const connection = store.add(new CsiConnection({ address: path, onConnectionLost: () => undefined }));
      await connection.start();
      expect(plugin.callsTo('Probe')).toHaveLength(1);
    } finally {
      await plugin.dispose();
    }
    expect(existsSync(path)).toBe(false);
    await expect(plugin.start()).rejects.toThrow('fake CSI plugin is disposed');
  });

  it('times out waiting for calls that never come', async () => {
    const plugin = store.add(await FakeCsiPlugin.start());
    await expect(plugin.waitForCalls('CreateVolume', 1, 50)).rejects.toThrow(
      'fake CSI plugin: 1 call(s) of CreateVolume did not arrive within 50 ms (got 0)',
    );
  });
});
