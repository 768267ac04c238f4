// The ceiling: how fast a plain client with no rate limit creates PVs on this control plane.
// No sidecar can provision faster than this, so it tells whether a lifted-limit result is the
// sidecar's own speed or the API server's.
import type { BenchCluster } from './cluster.js';
import { mapLimit } from './kube/api.js';
import { SC_IMMEDIATE } from './cluster.js';
import { paths, provisionedVolume } from './kube/objects.js';
import type { CeilingRecord } from './report/model.js';

const CONCURRENCY = 64;

export async function measureCeiling(cluster: BenchCluster, objects: number): Promise<CeilingRecord> {
  const set = 'ceiling';
  const names = Array.from({ length: objects }, (_, i) => `ceiling-pv-${i}`);
  // KCM paused: it would otherwise mark every new PV Available while we measure.
  const seconds = await cluster.withControllerManagerPaused(async () => {
    const started = performance.now();
    await mapLimit(names, CONCURRENCY, (name) => cluster.api.create(paths.volumes, provisionedVolume(name, cluster.driver, name, SC_IMMEDIATE, set)));
    const s = (performance.now() - started) / 1000;
    await cluster.purge(undefined);
    return s;
  });
  return { objects, seconds, objectsPerSecond: objects / seconds, concurrency: CONCURRENCY };
}
