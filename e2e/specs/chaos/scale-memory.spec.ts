// Row 13 of beyond.md §5.2, ours and the Go csi-provisioner (external-provisioner v6.3.0):
// "20k–50k PVCs with a 256Mi limit — the Go provisioner is OOM-killed in a loop, so nothing gets
// provisioned at all". The cluster is filled with N bound PVC/PV pairs of the driver (written
// straight to the API as the bench's idle scenario does, e2e/src/faults/bulk-pairs.ts); then the
// sidecar starts with the same flags for both implementations while its memory is sampled from
// /proc (VmRSS, VmHWM). There are no containers here, so the 256Mi limit is emulated: a peak
// resident set above 256 MiB is where the container would have been OOM-killed, and ours runs
// with the V8 heap limit Node would choose under that limit (CONTAINER_OLD_SPACE_MIB) and the
// Node flags of its bin (--max-semi-space-size=2), as the image runs it. A probe claim
// made before the start marks the end of the sync (start → probe Bound); 3 s later the steady
// RSS is read and one fresh claim must be provisioned (Bound); both are then deleted (PVs gone).
// Ours is asserted (peak under 256 MiB, probe Bound within 60 s + 3 ms per pair, the fresh claim
// within 30 s); Go is recorded (README.md). A sync that never ends (the OOM loop) shows as the
// probe never Bound.
//
// N: CSI_CHAOS_SCALE_PVCS, default 20000 with CSI_CHAOS_EXTENDED=1 (`npm run chaos`, both
// implementations) and 1000 in the short set (`npm test`, ours only).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { clusterInfo } from '../../src/harness/cluster-env.js';
import { waitFor } from '../../src/harness/wait.js';
import { ChaosEnv, pvNameOf } from '../../src/faults/chaos.js';
import { bulkPairs, bulkVolumesLeft, type BulkPairs } from '../../src/faults/bulk-pairs.js';
import { LATE_ROW_IMPLS, launch, unavailable, type Impl } from '../../src/faults/implementations.js';
import { MemorySampler, MiB } from '../../src/faults/memory.js';
import { recordResult, resultsTable, type ScenarioResult } from '../../src/faults/results.js';

const NS = 'chaos-scale';
const SC = 'chaos-scale';
const SET = 'chaos-scale';
const EXTENDED = process.env.CSI_CHAOS_EXTENDED === '1';
const N = Number(process.env.CSI_CHAOS_SCALE_PVCS ?? (EXTENDED ? 20_000 : 1_000));
const LIMIT = 256 * MiB;
/**
 * The old-generation limit Node 24 picks in a container with LIMIT: it sizes V8's heap from the
 * cgroup's memory limit (uv_get_constrained_memory), and V8 gives the old generation a quarter of
 * it times 2 on 64-bit builds, i.e. half: 128 MiB (the young generation comes on top: 3 × the
 * 2 MiB semi-space of the bins' --max-semi-space-size=2, so heap_size_limit is 134 MiB). There is
 * no cgroup here, so ours gets it as --max-old-space-size: a V8 that collects as hard as in the
 * container (and a heap that cannot hold the caches crashes here as it would there).
 */
const CONTAINER_OLD_SPACE_MIB = LIMIT / MiB / 2;
/** Start → probe claim Bound (start-up, initial lists, first provisioning) on a loaded 2-core machine. */
const SYNC_WITHIN_MS = 60_000 + N * 3;
/** Left alone after the sync before the steady RSS is read. */
const IDLE_MS = 3_000;
/** How long ours may take to bind a claim made after the sync. */
const FRESH_WITHIN_MS = 30_000;
const ROW = '13';
const SCENARIO = `${N} bound PVC/PV pairs of the driver, a 256Mi limit (emulated: peak RSS), then one new claim`;

let env: ChaosEnv;
let bulk: BulkPairs;
const mine: ScenarioResult[] = [];
const mib = (b: number) => `${(b / MiB).toFixed(0)} MiB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Time from `since` until claim `name` is Bound, or undefined after `timeoutMs`. */
function boundWithin(name: string, since: number, timeoutMs: number): Promise<number | undefined> {
  return waitFor(`claim ${name} Bound`, async () => ((await env.claim(name))?.status?.phase === 'Bound' ? Date.now() - since : undefined), {
    timeoutMs,
    intervalMs: 100,
  }).catch(() => undefined);
}

beforeAll(async () => {
  if (!Number.isInteger(N) || N < 1) throw new Error(`CSI_CHAOS_SCALE_PVCS must be a positive integer, not ${process.env.CSI_CHAOS_SCALE_PVCS}`);
  env = await ChaosEnv.create(clusterInfo(), NS);
  await env.storageClass(SC);
  bulk = bulkPairs(env.info, { namespace: NS, storageClass: SC, set: SET, count: N });
  const ms = await bulk.create((done) => process.stderr.write(`[row 13] ${done}/${N} pairs written\n`));
  process.stderr.write(`[row 13] ${N} bound pairs (${2 * N} objects) written in ${secs(ms)}\n`);
}, 60_000 + N * 60);

afterAll(async () => {
  process.stderr.write(`\ncsi-provisioner scale/memory results:\n${resultsTable(mine)}\n`);
  await env?.stopAll();
  if (bulk) {
    const ms = await bulk.remove();
    const left = await bulkVolumesLeft(env.client, SET);
    process.stderr.write(`[row 13] ${N} pairs removed in ${secs(ms)}${left ? `; ${left} PVs still there` : ''}\n`);
    bulk.dispose();
  }
  await env?.request('DELETE', `/apis/storage.k8s.io/v1/storageclasses/${SC}`).catch(() => undefined);
  await env?.dispose();
}, 60_000 + N * 30);

describe.each(LATE_ROW_IMPLS)('%s csi-provisioner: scale and memory', (impl: Impl) => {
  it(`row 13: ${N} bound claims in the cluster; peak RSS under 256 MiB, and new claims are provisioned`, async () => {
    const why = await unavailable(impl, 'provisioner');
    if (why) {
      mine.push(env.skipped(ROW, SCENARIO, impl, why));
      return;
    }
    // The probe is there before the sidecar starts: it is provisioned once the initial lists are
    // in (both implementations wait for their caches), so "start → probe Bound" is the sync.
    const probe = `row13-probe-${impl}`;
    const fresh = `row13-fresh-${impl}`;
    const made = [await env.createClaim(probe, SC)];
    const sidecar = env.own(
      await launch(env.info, impl, 'provisioner', {
        csiAddress: env.info.csiEndpoint,
        nodeFlags: [`--max-old-space-size=${CONTAINER_OLD_SPACE_MIB}`],
        logName: `chaos-row13-${impl}.log`,
        extraArgs: ['--retry-interval-start=200ms', '--retry-interval-max=2s', '--timeout=5s', `--leader-election-namespace=${NS}`, '--worker-threads=10'],
      }),
    );
    const started = Date.now();
    const pid = sidecar.pid;
    if (pid === undefined) throw new Error(`${impl} csi-provisioner did not start`);
    const sampler = new MemorySampler(pid);
    const problems: string[] = [];
    let syncMs: number | undefined;
    let freshMs: number | undefined;
    let steady = 0;
    try {
      syncMs = await boundWithin(probe, started, SYNC_WITHIN_MS);
      if (syncMs === undefined) problems.push(sidecar.running ? `the probe claim was not Bound within ${secs(SYNC_WITHIN_MS)} of the start` : `exited (${await sidecar.exited}) before the probe claim was Bound`);
      else {
        await new Promise((r) => setTimeout(r, IDLE_MS));
        steady = sampler.sample()?.rss ?? 0;
        const created = Date.now();
        made.push(await env.createClaim(fresh, SC));
        freshMs = await boundWithin(fresh, created, FRESH_WITHIN_MS);
        if (freshMs === undefined) problems.push(`the new claim was not Bound within ${secs(FRESH_WITHIN_MS)}`);
      }
      // The claims go again, and with them their PVs (the provisioner deletes the volumes).
      for (const c of made) await env.deleteClaim(c.metadata?.name ?? '');
      for (const c of made) {
        const pv = pvNameOf(c);
        const gone = await waitFor(`PV ${pv} gone`, async () => (await env.request('GET', `/api/v1/persistentvolumes/${pv}`).then(() => false, () => true)) || undefined, {
          timeoutMs: 30_000,
          intervalMs: 200,
        }).catch(() => false);
        if (!gone && syncMs !== undefined) problems.push(`PV ${pv} still there 30 s after its claim was deleted`);
      }
    } finally {
      sampler.stop();
    }
    const peak = sampler.peak;
    if (peak > LIMIT) problems.push(`peak RSS ${mib(peak)} > 256 MiB: a 256Mi container would be OOM-killed`);
    const notes = [
      `peak RSS ${mib(peak)} (VmHWM), ${mib(steady)} ${secs(IDLE_MS)} after the sync`,
      syncMs === undefined ? 'never synced' : `start → probe claim Bound ${secs(syncMs)}`,
      freshMs === undefined ? 'new claim never Bound' : `new claim Bound after ${secs(freshMs)}`,
    ].join('; ');
    const r: ScenarioResult = {
      row: ROW,
      scenario: SCENARIO,
      impl,
      outcome: problems.length === 0 ? 'clean' : problems.join('; '),
      clean: problems.length === 0,
      ...(syncMs !== undefined ? { convergedMs: syncMs } : {}),
      notes,
    };
    recordResult(r);
    mine.push(r);
    process.stderr.write(`[row 13] ${impl}: ${r.outcome}; ${notes}; ${sampler.samples} samples\n`);
    await env.stopAll();
    // Orphaned volumes of a failed run would otherwise count against later scenarios.
    for (const c of made) await env.request('DELETE', `/api/v1/persistentvolumes/${pvNameOf(c)}`).catch(() => undefined);
    if (impl === 'ours') {
      expect(problems).toEqual([]);
      expect(peak).toBeLessThan(LIMIT);
    }
  }, SYNC_WITHIN_MS + IDLE_MS + FRESH_WITHIN_MS + 120_000);
});
