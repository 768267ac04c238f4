import { afterEach, describe, expect, it } from '@jest/globals';
import { request } from 'node:http';
import { FakeCsiPlugin } from '../csi/testing/fake-plugin.js';
import { toDisposable } from '../lifecycle/disposable.js';
import { drainReadinessCheck, runSidecar, type CommonRuntimeOptions, type SidecarContext } from './runtime.js';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const options = (csiAddress: string): CommonRuntimeOptions => ({
  kubeconfig: '',
  // Never contacted: no controller here talks to the API.
  master: 'http://127.0.0.1:1',
  csiAddress,
  timeoutMs: 5000,
  leaderElection: false,
  leaderElectionNamespace: '',
  leaderElectionLeaseDurationMs: 15_000,
  leaderElectionRenewDeadlineMs: 10_000,
  leaderElectionRetryPeriodMs: 5000,
  leaderElectionLabels: {},
  kubeApiQps: 5,
  kubeApiBurst: 10,
  httpEndpoint: '127.0.0.1:0',
  metricsAddress: '',
  metricsPath: '/metrics',
  v: 0,
  loggingFormat: 'text',
  releaseLeaderElectionOnExit: true,
});

let plugin: FakeCsiPlugin | undefined;
afterEach(() => {
  plugin?.dispose();
  plugin = undefined;
});

describe('drainReadinessCheck', () => {
  it('passes until the stopping signal aborts, then fails naming the drain', () => {
    const stopping = new AbortController();
    const check = drainReadinessCheck(stopping.signal);
    expect(check.name).toBe('shutdown');
    expect(() => check.check()).not.toThrow();
    stopping.abort();
    expect(() => check.check()).toThrow(/shutting down/);
  });
});

describe('runSidecar readiness', () => {
  it('answers /readyz 503 from the start of a SIGTERM drain while in-flight work is still running', async () => {
    plugin = await FakeCsiPlugin.start({ driverName: 'readyz.csi.example.com' });
    let ctx: SidecarContext | undefined;
    let finishDrain!: () => void;
    const drained = new Promise<void>((r) => (finishDrain = r));
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const codes: number[] = [];
    const before = process.listeners('SIGTERM').length;
    const result = runSidecar({
      kind: 'attacher',
      component: 'csi-test',
      version: 'test',
      eventComponent: (d) => d,
      controllerCapabilities: 'always',
      options: options(plugin.address),
      shutdownGraceMs: 10_000,
      env: {},
      exit: (code) => codes.push(code),
      writeLog: () => undefined,
      async start(c) {
        ctx = c;
        started();
        // In-flight work that takes until the test lets it finish.
        return toDisposable(() => drained);
      },
    });
    await running;
    const port = ctx!.http!.address.port;
    expect(await get(port, '/readyz')).toMatchObject({ status: 200, body: 'ok' });

    // The runtime's own SIGTERM handler (process.emit reaches the listeners without a real signal).
    expect(process.listeners('SIGTERM').length).toBe(before + 1);
    process.emit('SIGTERM', 'SIGTERM');
    const during = await get(port, '/readyz');
    expect(during.status).toBe(503);
    expect(during.body).toContain('[-]shutdown failed: shutting down');
    // Liveness is not readiness: the process is healthy while it drains.
    expect((await get(port, '/healthz')).status).toBe(200);

    finishDrain();
    expect(await result).toBe(0);
    expect(codes).toEqual([0]);
    expect(process.listeners('SIGTERM').length).toBe(before);
  });
});

describe('runSidecar CSI call metrics', () => {
  async function metricsAfterCreateVolume(driverName: string, migrated: boolean): Promise<string> {
    plugin = await FakeCsiPlugin.start({ driverName, controllerCapabilities: ['CREATE_DELETE_VOLUME'] });
    let ctx: SidecarContext | undefined;
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const result = runSidecar({
      kind: 'provisioner',
      component: 'csi-test',
      version: 'test',
      eventComponent: (d) => d,
      controllerCapabilities: 'always',
      options: options(plugin.address),
      shutdownGraceMs: 5000,
      env: {},
      exit: () => undefined,
      writeLog: () => undefined,
      async start(c) {
        ctx = c;
        started();
        return toDisposable(() => undefined);
      },
    });
    await running;
    await ctx!.csi.controller.createVolume(
      { name: 'v', volume_capabilities: [{ mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }] },
      { migrated },
    );
    const text = (await get(ctx!.http!.address.port, '/metrics')).body;
    process.emit('SIGTERM', 'SIGTERM');
    expect(await result).toBe(0);
    return text;
  }

  it('adds the migrated label when the driver replaces an in-tree plugin (as the Go sidecars do)', async () => {
    const text = await metricsAfterCreateVolume('pd.csi.storage.gke.io', true);
    expect(text).toContain(
      'csi_sidecar_operations_seconds_count{driver_name="pd.csi.storage.gke.io",method_name="/csi.v1.Controller/CreateVolume",grpc_status_code="OK",migrated="true"} 1',
    );
  });

  it('has no migrated label for other drivers', async () => {
    const text = await metricsAfterCreateVolume('plain.csi.example.com', true);
    expect(text).toContain('csi_sidecar_operations_seconds_count{driver_name="plain.csi.example.com",method_name="/csi.v1.Controller/CreateVolume",grpc_status_code="OK"} 1');
    expect(text).not.toContain('migrated=');
  });
});
