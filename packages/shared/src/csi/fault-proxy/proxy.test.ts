import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { CsiConnection } from '../connection.js';
import { CsiCallError, GrpcCode } from '../errors.js';
import { FakeCsiPlugin } from '../testing/fake-plugin.js';
import { parseFaultProxyArgs, runFaultProxyCli } from './cli.js';
import { parseControlEndpoint, startFaultProxyControl } from './control.js';
import { FaultProxy } from './proxy.js';

let dir: string;
let plugin: FakeCsiPlugin;
let proxy: FaultProxy;
const conns: CsiConnection[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'csi-fault-proxy-'));
  plugin = await FakeCsiPlugin.start({ socketPath: join(dir, 'plugin.sock') });
  proxy = await FaultProxy.start({ listen: join(dir, 'proxy.sock'), target: plugin.address });
});

afterEach(async () => {
  for (const c of conns.splice(0)) c.dispose();
  await proxy.dispose();
  await plugin.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function connect(lost: string[] = [], timeoutMs = 2000): Promise<CsiConnection> {
  const c = new CsiConnection({ address: proxy.address, timeoutMs, probeIntervalMs: 10, onConnectionLost: (i) => lost.push(i.channelState) });
  conns.push(c);
  await c.start();
  return c;
}

const create = (c: CsiConnection, name: string, timeoutMs?: number) =>
  c.controller.createVolume({ name, capacity_range: { required_bytes: 1024n }, volume_capabilities: [{ mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }] }, timeoutMs ? { timeoutMs } : {});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    return err instanceof CsiCallError ? err.codeName : `not a gRPC status: ${String(err)}`;
  }
}

describe('FaultProxy', () => {
  it('forwards calls and answers unchanged, and records them', async () => {
    const c = await connect();
    expect(c.driverName).toBe(plugin.driverName);
    const res = await create(c, 'vol-a');
    expect(res.volume?.volume_id).toBe(plugin.store.byName('vol-a')!.volumeId);
    expect(res.volume?.capacity_bytes).toBe(1024n);
    plugin.fail('DeleteVolume', GrpcCode.FailedPrecondition, 'in use');
    await expect(c.controller.deleteVolume({ volume_id: 'x' })).rejects.toMatchObject({ codeName: 'FailedPrecondition', details: 'in use' });
    const [rec] = proxy.callsTo('CreateVolume');
    expect(rec).toMatchObject({ method: 'CreateVolume', keys: ['vol-a'], outcome: 'OK', backend: 'OK', volumeId: res.volume!.volume_id });
    expect(proxy.callsTo('DeleteVolume')[0]).toMatchObject({ keys: ['x'], outcome: 'FailedPrecondition', backend: 'FailedPrecondition' });
    expect(proxy.calls.map((r) => r.method)).toEqual(expect.arrayContaining(['Probe', 'GetPluginInfo', 'GetPluginCapabilities', 'ControllerGetCapabilities']));
  });

  it('injects errors per method and per volume, `times` times', async () => {
    const c = await connect();
    proxy.addRule({ id: 'b-fails', methods: ['CreateVolume'], volume: '^b-', times: 1, action: { type: 'error', code: 'Unavailable', message: 'backend busy' } });
    expect(await codeOf(create(c, 'a-1'))).toBe('OK');
    await expect(create(c, 'b-1')).rejects.toMatchObject({ codeName: 'Unavailable', details: 'backend busy' });
    expect(plugin.store.byName('b-1')).toBeUndefined();
    expect(await codeOf(create(c, 'b-1'))).toBe('OK');
    expect(proxy.callsTo('CreateVolume').map((r) => [r.keys[0], r.rule, r.outcome])).toEqual([
      ['a-1', undefined, 'OK'],
      ['b-1', 'b-fails', 'Unavailable'],
      ['b-1', undefined, 'OK'],
    ]);
    // A spent rule no longer counts calls.
    expect(proxy.rules[0]!.toJSON()).toMatchObject({ matched: 1, applied: 1 });
  });

  it('lets the plugin succeed but tells the caller the call timed out (forwardThenError)', async () => {
    const c = await connect();
    proxy.addRule({ methods: ['CreateVolume'], action: { type: 'forwardThenError' } });
    await expect(create(c, 'late')).rejects.toMatchObject({ codeName: 'DeadlineExceeded' });
    expect(plugin.store.byName('late')).toBeDefined();
    expect(proxy.callsTo('CreateVolume')[0]).toMatchObject({ outcome: 'DeadlineExceeded', backend: 'OK', volumeId: plugin.store.byName('late')!.volumeId });
  });

  it('forwards and then never answers (forwardThenHang): the caller\'s own deadline ends the call', async () => {
    const c = await connect();
    proxy.addRule({ methods: ['CreateVolume'], action: { type: 'forwardThenHang' } });
    await expect(create(c, 'hidden', 300)).rejects.toMatchObject({ codeName: 'DeadlineExceeded' });
    expect(plugin.store.byName('hidden')).toBeDefined();
    await proxy.waitForCalls('CreateVolume', 1);
    expect(proxy.callsTo('CreateVolume')[0]).toMatchObject({ outcome: 'abandoned', backend: 'OK' });
  });

  it('holds calls without forwarding them (hang)', async () => {
    const c = await connect();
    proxy.addRule({ methods: ['DeleteVolume'], action: { type: 'hang' } });
    const volume = (await create(c, 'kept')).volume!.volume_id;
    await expect(c.controller.deleteVolume({ volume_id: volume }, { timeoutMs: 200 })).rejects.toMatchObject({ codeName: 'DeadlineExceeded' });
    expect(plugin.callsTo('DeleteVolume')).toHaveLength(0);
    expect(plugin.store.byName('kept')).toBeDefined();
  });

  it('delays calls, then forwards them', async () => {
    const c = await connect();
    proxy.addRule({ methods: ['CreateVolume'], action: { type: 'delay', ms: 150 } });
    expect(await codeOf(create(c, 'slow'))).toBe('OK');
    expect(proxy.callsTo('CreateVolume')[0]!.durationMs).toBeGreaterThanOrEqual(140);
  });

  it('drops every connection: the client sees the plugin go away, a new one connects again', async () => {
    const lost: string[] = [];
    const c = await connect(lost);
    proxy.addRule({ methods: ['CreateVolume'], times: 1, action: { type: 'forwardThenDrop' } });
    const code = await codeOf(create(c, 'dropped'));
    expect(['Unavailable', 'Canceled', 'Internal']).toContain(code);
    expect(plugin.store.byName('dropped')).toBeDefined();
    for (let i = 0; i < 200 && lost.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(lost.length).toBe(1);
    // The proxy serves again right after closing the connections.
    for (let i = 0; i < 200 && !proxy.up; i++) await new Promise((r) => setTimeout(r, 10));
    expect(proxy.up).toBe(true);
    const again = await connect();
    expect(await codeOf(create(again, 'dropped'))).toBe('OK');
  });

  it('goes away for a while on restart (socket removed) and serves again', async () => {
    const c = await connect();
    const restarting = proxy.restart(300);
    await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(join(dir, 'proxy.sock'))).toBe(false);
    expect(proxy.up).toBe(false);
    await restarting;
    expect(existsSync(join(dir, 'proxy.sock'))).toBe(true);
    c.dispose();
    expect(await codeOf(create(await connect(), 'after-restart'))).toBe('OK');
  });

  it('answers Unavailable while the plugin is down', async () => {
    const c = await connect();
    await plugin.stop();
    await expect(create(c, 'nowhere')).rejects.toMatchObject({ codeName: 'Unavailable' });
  });

  it('refuses to listen on its target', () => {
    expect(() => new FaultProxy({ listen: plugin.socketPath, target: plugin.address })).toThrow('cannot listen on its own target socket');
  });
});

function control(socketPath: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('control API', () => {
  it('adds, lists and removes rules, reports calls, restarts the proxy', async () => {
    const socket = join(dir, 'control.sock');
    const server = await startFaultProxyControl(proxy, parseControlEndpoint(`unix://${socket}`));
    try {
      expect(await control(socket, 'GET', '/healthz')).toEqual({ status: 200, body: 'ok' });
      const added = await control(socket, 'POST', '/rules', [{ id: 'slow', methods: ['CreateVolume'], action: { type: 'error', code: 'Aborted' } }]);
      expect(added).toEqual({ status: 200, body: { ids: ['slow'] } });
      const c = await connect();
      expect(await codeOf(create(c, 'v'))).toBe('Aborted');
      const calls = (await control(socket, 'GET', '/calls?method=CreateVolume')).body as { rule: string; outcome: string }[];
      expect(calls).toEqual([expect.objectContaining({ rule: 'slow', outcome: 'Aborted' })]);
      expect(((await control(socket, 'GET', '/rules')).body as unknown[])[0]).toMatchObject({ rule: { id: 'slow' }, matched: 1, applied: 1 });
      const bad = await control(socket, 'POST', '/rules', { action: { type: 'error', code: 'Nope' } });
      expect(bad.status).toBe(400);
      expect((bad.body as { error: string }).error).toMatch(/^rule.action.code: unknown gRPC code "Nope"/);
      expect((await control(socket, 'POST', '/rules', { id: 'slow', action: { type: 'hang' } })).status).toBe(409);
      expect(await control(socket, 'DELETE', '/rules/slow')).toEqual({ status: 200, body: { removed: 'slow' } });
      expect((await control(socket, 'DELETE', '/rules/slow')).status).toBe(404);
      expect(await codeOf(create(c, 'v'))).toBe('OK');
      expect(await control(socket, 'POST', '/restart?downMs=10')).toEqual({ status: 200, body: { restarted: true, downMs: 10 } });
      expect(await control(socket, 'POST', '/stop')).toEqual({ status: 200, body: { up: false } });
      expect(proxy.up).toBe(false);
      expect(await control(socket, 'POST', '/start')).toEqual({ status: 200, body: { up: true } });
      expect((await control(socket, 'GET', '/nothing')).status).toBe(404);
    } finally {
      await server.dispose();
    }
  });

  it('listens only on unix sockets or loopback', () => {
    expect(parseControlEndpoint('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseControlEndpoint('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(() => parseControlEndpoint('0.0.0.0:8080')).toThrow('loopback');
    expect(() => parseControlEndpoint('unix://relative')).toThrow('unix:///absolute/path');
  });
});

describe('csi-fault-proxy command', () => {
  it('explains what is missing', () => {
    expect(parseFaultProxyArgs([])).toEqual({ error: '--listen is required (the socket the sidecar connects to)' });
    expect(parseFaultProxyArgs(['--listen=/a'])).toEqual({ error: '--target is required (the plugin\'s socket)' });
    expect(parseFaultProxyArgs(['--listen=/a', '--target=/b', '--control=10.0.0.1:80'])).toMatchObject({ error: expect.stringMatching(/^--control: .*loopback/) });
    expect(parseFaultProxyArgs(['--listen=/a', '--target=/b', '--rules=/does/not/exist.json'])).toMatchObject({ error: expect.stringMatching(/^--rules: ENOENT/) });
    expect(parseFaultProxyArgs(['--bogus'])).toMatchObject({ error: expect.stringContaining("Unknown option '--bogus'") });
  });

  it('runs until asked to stop', async () => {
    let stop!: () => void;
    const stopRequested = new Promise<void>((r) => (stop = r));
    const out: string[] = [];
    const running = runFaultProxyCli([`--listen=${join(dir, 'cli.sock')}`, `--target=${plugin.address}`, `--control=${join(dir, 'cli-control.sock')}`], {
      stdout: (t) => out.push(t),
      stderr: (t) => out.push(t),
      logWrite: () => undefined,
      stopRequested,
    });
    for (let i = 0; i < 200 && !existsSync(join(dir, 'cli-control.sock')); i++) await new Promise((r) => setTimeout(r, 10));
    expect(await control(join(dir, 'cli-control.sock'), 'GET', '/healthz')).toEqual({ status: 200, body: 'ok' });
    stop();
    expect(await running).toBe(0);
    expect(existsSync(join(dir, 'cli.sock'))).toBe(false);
    expect(out).toEqual([]);
  });
});
