// csi-attacher killed (SIGKILL) in the middle of a burst of attaches, then started again: every
// VolumeAttachment must converge to attached, and no volume may be published twice.
//
// Size: CSI_E2E_BURST volumes (default 40; the figure is 200, e.g.
// `CSI_E2E_BURST=200 npm test -- e2e/specs/attacher/kill-burst`), spread over node-1..3, one Pod
// each; kube-controller-manager creates the VolumeAttachments.
//
// The plugin is the project's fake CSI plugin under a driver name of its own, because the proof
// needs what the Kubernetes e2e mock cannot give: every ControllerPublishVolume recorded per
// (volume, node) with its arrival time, the real publish state of each volume (the mock's
// ListVolumes reports every volume as published whatever happened, which would also blind the
// attacher's reconciler), and a publish that takes a while (150 ms) so that the kill finds calls
// in flight. A publish the killed attacher started is completed by the fake anyway, as a real
// backend finishes work its caller abandoned.
//
// "Published twice" means: a ControllerPublishVolume for a (volume, node) that the attacher had
// already seen succeed. So the killed attacher calls each pair at most once; the new one calls
// no pair whose VolumeAttachment was already marked attached, and each other pair at most once
// (those the killed one published without recording it must be published again: that is the
// only way to learn the publish context); never two calls for one pair at the same time.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeCsiPlugin, type FakeRequest } from '@csi-sidecars-ts/shared/testing';
import { clusterInfo, clusterKube } from '../../src/harness/cluster-env.js';
import { registerDriver, unregisterDriver } from '../../src/harness/extra-plugin.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';
import { AttacherKit, attacherFinalizer } from './attacher-kit.js';

const NS = 'e2e-attacher-burst';
const DRIVER = 'attacher-burst.e2e.csi';
const FINALIZER = attacherFinalizer(DRIVER);
const NODE_ID = DRIVER;
const BURST = parseBurst(process.env.CSI_E2E_BURST);
const PUBLISH_MS = 150;

function parseBurst(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 40;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 3 || n > 1000) throw new Error(`CSI_E2E_BURST must be an integer between 3 and 1000, got ${JSON.stringify(raw)}`);
  return n;
}

const kube = clusterKube();
const kit = new AttacherKit(kube, NS);
let plugin: FakeCsiPlugin | undefined;
const attachers: ManagedProcess[] = [];

/** Which attacher process the plugin's calls are counted for (1 before the kill, 2 after). */
let generation = 1;
interface PublishRecord {
  key: string;
  generation: number;
}
const publishes: PublishRecord[] = [];
const inFlight = new Map<string, number>();
let maxInFlightPerPair = 0;
/** Kills the first attacher when this many publishes have arrived (set by the test). */
let killAt: { calls: number; kill: () => void } | undefined;

async function publish(request: FakeRequest<'ControllerPublishVolume'>) {
  const key = `${request.volume_id}@${request.node_id}`;
  publishes.push({ key, generation });
  if (killAt && publishes.length >= killAt.calls) {
    // SIGKILL right here, while this call and others are in flight.
    killAt.kill();
    killAt = undefined;
  }
  const now = (inFlight.get(key) ?? 0) + 1;
  inFlight.set(key, now);
  maxInFlightPerPair = Math.max(maxInFlightPerPair, now);
  try {
    // Finishes even if the caller is gone: the backend does not know.
    await new Promise((r) => setTimeout(r, PUBLISH_MS));
    return plugin!.store.publish(request);
  } finally {
    inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
  }
}

function startAttacher(n: number): Promise<ManagedProcess> {
  return startSidecarChecked(clusterInfo(), 'attacher', {
    csiAddress: plugin!.socketPath,
    logName: `csi-attacher-burst-${n}.log`,
    extraArgs: [
      '--retry-interval-start=200ms',
      '--retry-interval-max=2s',
      '--timeout=10s',
      // A reconciler pass every 2 s during the burst: its verdicts on VAs being attached must not
      // turn into second publishes either.
      '--reconcile-sync=2s',
      '--kube-api-qps=50',
      '--kube-api-burst=100',
    ],
  });
}

beforeAll(async () => {
  const info = clusterInfo();
  await kit.createNamespace();
  plugin = await FakeCsiPlugin.start({ driverName: DRIVER });
  plugin.setHandler('ControllerPublishVolume', (request) => publish(request));
  await registerDriver(info, kube, DRIVER);
});

afterAll(async () => {
  await kit.drain(60_000);
  for (const a of attachers) await a.stop();
  await kit.cleanUp([FINALIZER]);
  await unregisterDriver(clusterInfo(), kube, DRIVER);
  await plugin?.dispose();
});

describe(`csi-attacher killed in the middle of ${BURST} attaches`, () => {
  it('converges every VolumeAttachment after a restart without publishing any volume twice', async () => {
    // Volumes, bound claims (created in parallel, in slices, to keep the API server responsive).
    const names = Array.from({ length: BURST }, (_, i) => `e2e-burst-${String(i + 1).padStart(3, '0')}`);
    const claims = new Map<string, { pv: string; pvc: string; handle: string; node: string }>();
    for (let i = 0; i < names.length; i += 20) {
      await Promise.all(
        names.slice(i, i + 20).map(async (name, j) => {
          const handle = plugin!.store.seed({ name }).volumeId;
          const { pv, pvc } = await kit.createClaim(name, DRIVER, handle);
          claims.set(name, { pv, pvc, handle, node: `node-${((i + j) % 3) + 1}` });
        }),
      );
    }
    for (const c of claims.values()) await kit.waitBound(c.pvc);

    // The first attacher is killed when a third of the volumes have been asked for: calls are
    // in flight, some attaches are recorded on their VAs, most have not started.
    const first = await startAttacher(1);
    attachers.push(first);
    killAt = { calls: Math.ceil(BURST / 3), kill: () => first.killNow() };
    for (const [name, c] of claims) await kit.podOn(name, c.node, c.pvc);
    await waitFor('the first attacher to be killed mid-burst', () => !first.running || undefined, { timeoutMs: 90_000 });
    // Let calls that were already on the socket arrive and held ones finish, then count anew.
    await new Promise((r) => setTimeout(r, PUBLISH_MS + 500));
    generation = 2;
    const attachedAtKill = new Set(
      (await kit.vas())
        .filter((va) => va.spec.attacher === DRIVER && va.status?.attached === true)
        .map((va) => va.spec.source.persistentVolumeName),
    );
    const firstCalls = publishes.length;
    expect(firstCalls).toBeGreaterThan(0);
    expect(attachedAtKill.size).toBeLessThan(BURST);

    attachers.push(await startAttacher(2));
    await waitFor(
      `all ${BURST} VolumeAttachments attached`,
      async () => {
        const vas = (await kit.vas()).filter((va) => va.spec.attacher === DRIVER);
        return (vas.length === BURST && vas.every((va) => va.status?.attached === true)) || undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );

    // Converged: each VA attached without error, each volume published to exactly its node.
    const vas = (await kit.vas()).filter((va) => va.spec.attacher === DRIVER);
    for (const va of vas) {
      expect(va.status?.attachError).toBeUndefined();
      expect(va.metadata?.finalizers).toEqual([FINALIZER]);
    }
    for (const c of claims.values()) expect([...plugin!.store.get(c.handle)!.publications.keys()]).toEqual([NODE_ID]);

    // Never published twice.
    const count = (handle: string, gen: number) => publishes.filter((p) => p.key === `${handle}@${NODE_ID}` && p.generation === gen).length;
    const twiceByFirst: string[] = [];
    const againAfterAttached: string[] = [];
    const twiceBySecond: string[] = [];
    let republishedUnrecorded = 0;
    for (const c of claims.values()) {
      if (count(c.handle, 1) > 1) twiceByFirst.push(c.handle);
      if (attachedAtKill.has(c.pv) && count(c.handle, 2) > 0) againAfterAttached.push(c.handle);
      if (count(c.handle, 2) > 1) twiceBySecond.push(c.handle);
      if (!attachedAtKill.has(c.pv) && count(c.handle, 1) === 1) republishedUnrecorded += count(c.handle, 2);
    }
    expect({ twiceByFirst, againAfterAttached, twiceBySecond }).toEqual({ twiceByFirst: [], againAfterAttached: [], twiceBySecond: [] });
    expect(maxInFlightPerPair).toBe(1);
    // Every pair the first attacher asked for but had not recorded was asked again, once.
    expect(republishedUnrecorded).toBe(
      [...claims.values()].filter((c) => !attachedAtKill.has(c.pv) && count(c.handle, 1) === 1).length,
    );
    process.stderr.write(
      `kill-burst: ${BURST} volumes, ${firstCalls} publishes before the kill, ${attachedAtKill.size} recorded attached, ` +
        `${publishes.length - firstCalls} after the restart (${republishedUnrecorded} of them repeat an unrecorded publish)\n`,
    );

    // And the new attacher detaches them all.
    for (const name of claims.keys()) await kit.deletePod(name);
    await waitFor('every VolumeAttachment detached', async () => (await kit.vas()).every((va) => va.spec.attacher !== DRIVER) || undefined, {
      timeoutMs: 120_000,
      intervalMs: 500,
    });
    for (const c of claims.values()) expect(plugin!.store.get(c.handle)!.publications.size).toBe(0);
  }, Math.max(180_000, BURST * 1500));
});
