import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CsiCallError, CsiConnection, FakeClock, GrpcCode, realClock } from '@csi-sidecars-ts/shared';
import { FakeCsiPlugin } from '@csi-sidecars-ts/shared/testing';
import { CsiAttacher } from './attacher-csi.js';

let plugin: FakeCsiPlugin;
let conn: CsiConnection;

beforeAll(async () => {
  plugin = await FakeCsiPlugin.start();
  conn = new CsiConnection({ address: plugin.socketPath, probeIntervalMs: 20, onConnectionLost: () => undefined });
  await conn.start();
});

afterAll(async () => {
  conn.dispose();
  await plugin.dispose();
});

beforeEach(() => {
  plugin.resetHandlers();
  plugin.clearCalls();
});

const cap = { mount: { fs_type: 'ext4', mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' as const } };

describe('CsiAttacher', () => {
  it('publishes and unpublishes', async () => {
    const vol = plugin.store.seed({ volumeId: 'pub-1' });
    const csi = new CsiAttacher({ controller: conn.controller, timeoutMs: 5000, maxEntries: 0, clock: realClock });
    const ctx = await csi.publish({ volume_id: 'pub-1', node_id: 'n1', volume_capability: cap, readonly: false, volume_context: { a: 'b' }, secrets: { k: 'v' } });
    expect(ctx).toEqual({ devicePath: '/dev/fake/pub-1' });
    expect(plugin.callsTo('ControllerPublishVolume')[0]?.request).toMatchObject({ volume_id: 'pub-1', node_id: 'n1', volume_context: { a: 'b' }, secrets: { k: 'v' } });
    expect(vol.publications.has('n1')).toBe(true);
    await csi.unpublish({ volume_id: 'pub-1', node_id: 'n1', secrets: {} });
    expect(vol.publications.has('n1')).toBe(false);
  });

  it('reports driver errors as CsiCallError with the gRPC code', async () => {
    const csi = new CsiAttacher({ controller: conn.controller, timeoutMs: 5000, maxEntries: 0, clock: realClock });
    plugin.fail('ControllerPublishVolume', GrpcCode.ResourceExhausted, 'node full');
    const err = await csi.publish({ volume_id: 'x', node_id: 'n', volume_capability: cap }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CsiCallError);
    expect((err as CsiCallError).code).toBe(GrpcCode.ResourceExhausted);
    expect((err as Error).message).toBe('rpc error: code = ResourceExhausted desc = node full');
  });

  it('lists published nodes over every page, skipping entries without volume or status', async () => {
    for (let i = 0; i < 5; i++) plugin.store.seed({ volumeId: `list-${i}`, publishedTo: i % 2 ? ['n1', 'n2'] : [] });
    const csi = new CsiAttacher({ controller: conn.controller, timeoutMs: 5000, maxEntries: 2, clock: realClock });
    const published = await csi.listPublishedNodes();
    expect(published.get('list-1')).toEqual(['n1', 'n2']);
    expect(published.get('list-0')).toEqual([]);
    const calls = plugin.callsTo('ListVolumes');
    expect(calls.length).toBeGreaterThanOrEqual(3);
    expect(calls.every((c) => c.request.max_entries === 2)).toBe(true);

    plugin.respond('ListVolumes', { entries: [{ volume: { volume_id: 'v' } }, { status: { published_node_ids: ['n'] } }], next_token: '' });
    expect([...(await csi.listPublishedNodes()).keys()]).toEqual([]);
  });

  it('bounds the whole pagination by one --timeout', async () => {
    const clock = new FakeClock();
    let page = 0;
    // Each page "takes" 4 s of the 10 s budget.
    plugin.setHandler('ListVolumes', async () => {
      page++;
      return { entries: [], next_token: `t${page}` };
    });
    const csi = new CsiAttacher({
      controller: {
        ...conn.controller,
        listVolumes: async (req, opts) => {
          const r = await conn.controller.listVolumes(req, opts);
          await clock.advance(4000);
          return r;
        },
      },
      timeoutMs: 10_000,
      maxEntries: 1,
      clock,
    });
    const err = await csi.listPublishedNodes().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CsiCallError);
    expect((err as CsiCallError).code).toBe(GrpcCode.DeadlineExceeded);
    expect(page).toBe(3);
  });

  it('refuses a driver that repeats a page token', async () => {
    plugin.respond('ListVolumes', { entries: [], next_token: 'same' });
    const csi = new CsiAttacher({ controller: conn.controller, timeoutMs: 5000, maxEntries: 1, clock: realClock });
    await expect(csi.listPublishedNodes()).rejects.toThrow(/next_token "same" twice/);
  });

  it('fails the listing when a page fails', async () => {
    plugin.fail('ListVolumes', GrpcCode.Unavailable, 'down');
    const csi = new CsiAttacher({ controller: conn.controller, timeoutMs: 5000, maxEntries: 0, clock: realClock });
    await expect(csi.listPublishedNodes()).rejects.toThrow('failed to list volumes: rpc error: code = Unavailable desc = down');
  });
});
