// csi-resizer killed in the middle of a burst of expansions (SIGKILL: no clean-up, writes cut
// off anywhere between "marked in progress", the ControllerExpandVolume call, the PV update and
// the final claim status), then a fresh process started: every claim must converge to exactly
// the size it asks for, with clean status, and the backend must hold the same volumes, each
// expanded to that size. Real control plane, real Kubernetes e2e CSI mock plugin under its own
// driver name.
//
// Size: CSI_E2E_BURST claims (default 40; the figure is 200 — run with CSI_E2E_BURST=200
// for the full burst; the default keeps the suite fast on a 2-core machine). The first resizer
// runs with a low --kube-api-qps so that the kill reliably lands mid-burst; the spec checks that
// it did (some claims finished, others not).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CsiConnection, type PersistentVolume, type PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import { clusterInfo, clusterKube } from '../../src/harness/cluster-env.js';
import { startExtraPlugin, type ExtraPlugin } from '../../src/harness/extra-plugin.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';
import { bytesOf, GiB, ResizerKit } from './resizer-kit.js';

const NS = 'resizer-burst-e2e';
const DRIVER = 'resizer-burst.csi.e2e';
const SC = 'resizer-burst-expandable';
const BURST = Number.parseInt(process.env.CSI_E2E_BURST ?? '40', 10);
if (!Number.isInteger(BURST) || BURST < 4) throw new Error(`CSI_E2E_BURST must be an integer ≥ 4, got ${process.env.CSI_E2E_BURST}`);

let kit: ResizerKit;
let plugin: ExtraPlugin;
let csi: CsiConnection;
const resizers: ManagedProcess[] = [];

const claimName = (i: number) => `burst-${i}`;
const pvName = (i: number) => `${NS}-${i}`;
/** Requests spread over three sizes, so that a claim finished with another one's size shows. */
const targetOf = (i: number) => `${2 + (i % 3)}Gi`;
const handles = new Map<number, string>();

/** Runs `fn` over 0..n-1 with at most `limit` in flight. */
async function forEach(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

async function claims(): Promise<Map<string, PersistentVolumeClaim>> {
  const list = await kit.client.request<{ items: PersistentVolumeClaim[] }>({ method: 'GET', path: kit.pvcPath() });
  return new Map(list.items.map((c) => [c.metadata!.name!, c]));
}

async function volumes(): Promise<Map<string, PersistentVolume>> {
  const list = await kit.client.request<{ items: PersistentVolume[] }>({ method: 'GET', path: '/api/v1/persistentvolumes' });
  return new Map(list.items.filter((v) => v.metadata!.name!.startsWith(`${NS}-`)).map((v) => [v.metadata!.name!, v]));
}

const finished = (c: PersistentVolumeClaim | undefined, i: number) =>
  c?.status?.capacity?.storage === targetOf(i) && c.status.allocatedResourceStatuses === undefined && (c.status.conditions ?? []).length === 0;

beforeAll(async () => {
  const info = clusterInfo();
  kit = new ResizerKit(info, NS);
  await kit.createNamespace();
  await kit.storageClass(SC, DRIVER, true);
  plugin = await startExtraPlugin(info, clusterKube(), { driverName: DRIVER, csiDriverSpec: { attachRequired: false } });
  csi = new CsiConnection({ address: plugin.endpoint, timeoutMs: 10_000, onConnectionLost: () => undefined });
  await csi.start();
  await forEach(BURST, 8, async (i) => {
    const { volume } = await csi.controller.createVolume({
      name: `${NS}-${i}`,
      capacity_range: { required_bytes: GiB },
      volume_capabilities: [{ mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
    });
    handles.set(i, volume!.volume_id);
    await kit.createStaticClaim({ name: claimName(i), pv: pvName(i), driver: DRIVER, handle: volume!.volume_id, storageClassName: SC });
  });
  await waitFor(`${BURST} claims Bound`, async () => [...(await claims()).values()].filter((c) => c.status?.phase === 'Bound').length === BURST, {
    timeoutMs: 120_000,
    intervalMs: 500,
  });
}, 240_000);

afterAll(async () => {
  for (const r of resizers) await r.stop();
  await kit?.cleanup();
  csi?.dispose();
  await plugin?.stop();
}, 240_000);

describe(`csi-resizer killed mid-burst of ${BURST} expansions`, () => {
  it('a new process converges every claim, PV and backend volume to the requested size', async () => {
    const info = clusterInfo();
    const first = await startSidecarChecked(info, 'resizer', {
      csiAddress: plugin.socket,
      logName: 'csi-resizer-burst-1.log',
      // Slow on purpose (each expansion is ~3 writes and 2 events), so the kill lands mid-burst.
      extraArgs: ['--kube-api-qps=8', '--kube-api-burst=8', '--retry-interval-start=200ms', '--retry-interval-max=3s'],
    });
    resizers.push(first);

    await forEach(BURST, 10, (i) => kit.request(claimName(i), targetOf(i)).then(() => undefined));
    const threshold = Math.max(2, Math.floor(BURST / 8));
    await waitFor(`${threshold} PVs expanded`, async () => {
      const pvs = await volumes();
      let grown = 0;
      for (let i = 0; i < BURST; i++) if (pvs.get(pvName(i))?.spec?.capacity?.storage === targetOf(i)) grown++;
      return grown >= threshold;
    }, { timeoutMs: 120_000, intervalMs: 100 });
    first.killNow();
    await first.exited;

    // The kill landed mid-burst: some claims are done, others are not.
    const atKill = await claims();
    const doneAtKill = Array.from({ length: BURST }, (_, i) => i).filter((i) => finished(atKill.get(claimName(i)), i)).length;
    const inFlightAtKill = Array.from({ length: BURST }, (_, i) => i).filter(
      (i) => atKill.get(claimName(i))?.status?.allocatedResourceStatuses?.storage === 'ControllerResizeInProgress',
    ).length;
    expect(doneAtKill).toBeLessThan(BURST);
    // Operations cut off after "marked in progress" are among them.
    expect(inFlightAtKill).toBeGreaterThan(0);

    const second = await startSidecarChecked(info, 'resizer', {
      csiAddress: plugin.socket,
      logName: 'csi-resizer-burst-2.log',
      extraArgs: ['--kube-api-qps=100', '--kube-api-burst=200', '--retry-interval-start=200ms', '--retry-interval-max=3s'],
    });
    resizers.push(second);

    const converged = await waitFor('every claim expanded', async () => {
      const all = await claims();
      for (let i = 0; i < BURST; i++) if (!finished(all.get(claimName(i)), i)) return undefined;
      return all;
    }, { timeoutMs: 120_000, intervalMs: 500 });

    const pvs = await volumes();
    for (let i = 0; i < BURST; i++) {
      const c = converged.get(claimName(i))!;
      expect({ claim: claimName(i), allocated: c.status!.allocatedResources }).toEqual({ claim: claimName(i), allocated: { storage: targetOf(i) } });
      expect(c.metadata!.annotations!['volume.kubernetes.io/node-expansion-not-required']).toBe('true');
      expect({ pv: pvName(i), capacity: pvs.get(pvName(i))!.spec!.capacity }).toEqual({ pv: pvName(i), capacity: { storage: targetOf(i) } });
    }

    // The backend: the same volumes as before (none lost, none added), each exactly at its size.
    const listed = await csi.controller.listVolumes({});
    const ours = new Set(handles.values());
    const backend = new Map(listed.entries.filter((e) => ours.has(e.volume!.volume_id)).map((e) => [e.volume!.volume_id, e.volume!.capacity_bytes]));
    expect(backend.size).toBe(BURST);
    for (let i = 0; i < BURST; i++) expect({ i, bytes: backend.get(handles.get(i)!) }).toEqual({ i, bytes: bytesOf(targetOf(i)) });
    expect(second.running).toBe(true);
  });
});
