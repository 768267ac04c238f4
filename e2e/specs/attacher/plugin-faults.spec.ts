// csi-attacher against the real control plane and a plugin that misbehaves on purpose: the
// project's fake CSI plugin (packages/shared/src/csi/testing/fake-plugin.ts), served from this
// process under a driver name of its own and registered like a real node plugin. A fake is used
// because these faults cannot be had from the Kubernetes e2e CSI mock:
//   - a ControllerPublishVolume that fails or hangs for one volume while others succeed;
//   - a volume unpublished behind the attacher's back that ListVolumes reports truthfully. The
//     mock lists every volume as published to its node ID whatever its state, so no reconciler
//     (Go's included) can notice an unpublished volume there.
// kube-controller-manager still creates and deletes the VolumeAttachments from Pods on node-1..3.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CsiConnection, GrpcCode } from '@csi-sidecars-ts/shared';
import { FakeCsiPlugin, grpcStatus, type FakeRequest } from '@csi-sidecars-ts/shared/testing';
import { clusterInfo, clusterKube } from '../../src/harness/cluster-env.js';
import { registerDriver, unregisterDriver } from '../../src/harness/extra-plugin.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { freePort } from '../../src/harness/ports.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';
import { AttacherKit, attacherFinalizer } from './attacher-kit.js';

const NS = 'e2e-attacher-faults';
const DRIVER = 'attacher-faults.e2e.csi';
const FINALIZER = attacherFinalizer(DRIVER);
/** registerDriver gives every node this node ID. */
const NODE_ID = DRIVER;
/** The attacher's --timeout: how long a hung ControllerPublish is waited for. */
const TIMEOUT_S = 2;

const kube = clusterKube();
const kit = new AttacherKit(kube, NS);
let plugin: FakeCsiPlugin | undefined;
let attacher: ManagedProcess | undefined;
let metricsPort = 0;

/** Per-volume faults of ControllerPublishVolume; every other volume is published normally. */
const failing = new Map<string, { code: number; message: string }>();
const hanging = new Set<string>();
const hangReleases = new Set<() => void>();

function publishCalls(handle: string): number {
  return plugin!.callsTo('ControllerPublishVolume').filter((c) => c.request.volume_id === handle).length;
}

function publishedTo(handle: string): string[] {
  return [...(plugin!.store.get(handle)?.publications.keys() ?? [])];
}

async function publish(request: FakeRequest<'ControllerPublishVolume'>, signal: AbortSignal) {
  const fault = failing.get(request.volume_id);
  if (fault) throw grpcStatus(fault.code, fault.message);
  while (hanging.has(request.volume_id)) {
    await new Promise<void>((resolve, reject) => {
      hangReleases.add(resolve);
      signal.addEventListener('abort', () => reject(grpcStatus(GrpcCode.Canceled, 'the caller gave up')), { once: true });
    });
  }
  return plugin!.store.publish(request);
}

async function claimFor(name: string): Promise<{ pv: string; pvc: string; handle: string }> {
  const handle = plugin!.store.seed({ name }).volumeId;
  const { pv, pvc } = await kit.createClaim(name, DRIVER, handle);
  await kit.waitBound(pvc);
  return { pv, pvc, handle };
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  if (!line) throw new Error(`metric ${name} not exported`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

beforeAll(async () => {
  const info = clusterInfo();
  await kit.createNamespace();
  plugin = await FakeCsiPlugin.start({ driverName: DRIVER });
  plugin.setHandler('ControllerPublishVolume', (request, ctx) => publish(request, ctx.signal));
  await registerDriver(info, kube, DRIVER);
  metricsPort = await freePort();
  attacher = await startSidecarChecked(info, 'attacher', {
    csiAddress: plugin.socketPath,
    logName: 'csi-attacher-faults.log',
    extraArgs: [
      '--retry-interval-start=200ms',
      '--retry-interval-max=1s',
      `--timeout=${TIMEOUT_S}s`,
      '--reconcile-sync=2s',
      `--http-endpoint=127.0.0.1:${metricsPort}`,
    ],
  });
});

afterAll(async () => {
  failing.clear();
  hanging.clear();
  for (const r of hangReleases) r();
  await kit.drain();
  await attacher?.stop();
  await kit.cleanUp([FINALIZER]);
  await unregisterDriver(clusterInfo(), kube, DRIVER);
  await plugin?.dispose();
});

describe('csi-attacher with a plugin that fails, hangs or is changed behind its back', () => {
  it('records the gRPC code of a failing and of a hanging publish, retries both, and attaches the other volumes meanwhile', async () => {
    const bad = await claimFor('e2e-flt-fail');
    const hung = await claimFor('e2e-flt-hang');
    const good = await Promise.all(['e2e-flt-ok1', 'e2e-flt-ok2', 'e2e-flt-ok3'].map((n) => claimFor(n)));
    failing.set(bad.handle, { code: GrpcCode.ResourceExhausted, message: 'no attach slot left on the node' });
    hanging.add(hung.handle);

    await kit.podOn('e2e-flt-fail', 'node-1', bad.pvc);
    await kit.podOn('e2e-flt-hang', 'node-2', hung.pvc);
    for (const [i, c] of good.entries()) await kit.podOn(c.pvc, `node-${i + 1}`, c.pvc);

    // The failing volume: its error with code 8, then retried.
    const failed = await kit.waitVa(bad.pv, 'attach error saved', (v) => v.status?.attachError !== undefined);
    expect(failed.status?.attached).toBe(false);
    expect(failed.status?.attachError?.errorCode).toBe(GrpcCode.ResourceExhausted);
    expect(failed.status?.attachError?.message).toBe('rpc error: code = ResourceExhausted desc = no attach slot left on the node');
    await waitFor('the failing publish to be retried', () => publishCalls(bad.handle) >= 3);

    // The hanging volume: uncertain while the call is held, then DeadlineExceeded (4) after --timeout.
    await waitFor('a held publish', () => hangReleases.size > 0 || undefined);
    const held = await kit.waitVa(hung.pv, 'deadline error saved', (v) => v.status?.attachError !== undefined, 20_000);
    expect(held.status?.attached).toBe(false);
    expect(held.status?.attachError?.errorCode).toBe(GrpcCode.DeadlineExceeded);
    expect(held.status?.attachError?.message).toMatch(/DeadlineExceeded/);
    await waitFor('the hanging publish to be retried', () => publishCalls(hung.handle) >= 2, { timeoutMs: 20_000 });
    expect(await metric('csi_attacher_uncertain_attachments')).toBeGreaterThanOrEqual(1);

    // Meanwhile every other volume attached, each with one publish.
    for (const c of good) {
      const va = await kit.vaFor(c.pv);
      expect(va?.status?.attached).toBe(true);
      expect(va?.status?.attachError).toBeUndefined();
      expect(publishedTo(c.handle)).toEqual([NODE_ID]);
      expect(publishCalls(c.handle)).toBe(1);
    }
    expect(publishedTo(bad.handle)).toEqual([]);
    expect(publishedTo(hung.handle)).toEqual([]);

    // The plugin recovers: both attach on a later retry, and their errors are cleared.
    failing.clear();
    hanging.clear();
    for (const r of hangReleases) r();
    hangReleases.clear();
    for (const c of [bad, hung]) {
      const va = await kit.waitVa(c.pv, 'attached after the plugin recovered', (v) => v.status?.attached === true, 30_000);
      expect(va.status?.attachError).toBeUndefined();
      expect(publishedTo(c.handle)).toEqual([NODE_ID]);
    }
    await waitFor('no uncertain attachment left', async () => (await metric('csi_attacher_uncertain_attachments')) === 0);
  });

  it('publishes again a volume that was unpublished behind its back (ListVolumes reconciler)', async () => {
    const c = await claimFor('e2e-flt-reconcile');
    await kit.podOn('e2e-flt-reconcile', 'node-3', c.pvc);
    await kit.waitVa(c.pv, 'attached', (v) => v.status?.attached === true);
    expect(publishedTo(c.handle)).toEqual([NODE_ID]);
    const before = publishCalls(c.handle);

    // Someone else (an admin, the storage backend) detaches the volume through the plugin.
    const other = new CsiConnection({ address: plugin!.address, onConnectionLost: () => undefined });
    try {
      await other.start();
      await other.controller.controllerUnpublishVolume({ volume_id: c.handle, node_id: NODE_ID, secrets: {} });
    } finally {
      other.dispose();
    }
    expect(publishedTo(c.handle)).toEqual([]);

    // Within a --reconcile-sync (2 s) or two the attacher notices and publishes it again.
    await waitFor('the volume published again', () => publishedTo(c.handle).length > 0 || undefined, { timeoutMs: 20_000 });
    expect(publishedTo(c.handle)).toEqual([NODE_ID]);
    expect(publishCalls(c.handle)).toBe(before + 1);
    const va = await kit.vaFor(c.pv);
    expect(va?.status?.attached).toBe(true);
    expect(va?.status?.attachError).toBeUndefined();
    // The VA stayed attached throughout: the reconciler only re-runs the attach, it writes nothing.
    expect(va?.status?.attachmentMetadata).toEqual({ devicePath: `/dev/fake/${c.handle}` });
  });
});
