// Idle: a cluster holding N bound PVC/PV pairs (2N objects) that need nothing from the sidecar.
// What counts is how long the sidecar takes to sync them (start until its CPU and API use go
// quiet) and how much memory it keeps afterwards.
import { SCENARIOS, type ScenarioId } from '../catalogue.js';
import type { BenchCluster } from '../cluster.js';
import { ANN_STORAGE_RESIZER, KEEP_SET } from '../kube/objects.js';
import { createBoundPairs } from './bound-pairs.js';
import { sleep, type Scenario } from './scenario.js';

export const IDLE_NAMESPACE = 'bench-idle';
/** After sync, how long the sidecar is left alone before the steady-memory window. */
const IDLE_MS = 3000;

let populated = 0;

async function populate(cluster: BenchCluster, pairs: number, log: (line: string) => void): Promise<void> {
  if (populated >= pairs) return;
  if (populated > 0) throw new Error(`the idle data set already holds ${populated} pairs; cannot resize it to ${pairs}`);
  const started = Date.now();
  log(`idle data set: writing ${pairs} bound PVC/PV pairs (${2 * pairs} objects)`);
  await cluster.createNamespace(IDLE_NAMESPACE);
  // No plugin volumes behind them: an idle sidecar never calls the plugin for a bound volume.
  const handles = Array.from({ length: pairs }, (_, i) => `idle-volume-${i}`);
  await createBoundPairs(cluster, IDLE_NAMESPACE, KEEP_SET, handles, {
    claimAnnotations: { [ANN_STORAGE_RESIZER]: cluster.driver },
    onProgress: (n) => log(`idle data set: ${n}/${pairs}`),
  });
  populated = pairs;
  log(`idle data set ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function idle(id: ScenarioId): Scenario {
  return {
    info: SCENARIOS[id],
    usesBackend: false,
    reportsSync: true,
    setupOnce: populate,
    async prepare() {},
    async workload(ctx) {
      ctx.progress('idle');
      await sleep(IDLE_MS);
      return { objects: 2 * ctx.size, figures: [], notes: [`${ctx.size} PVCs + ${ctx.size} PVs in the cluster`] };
    },
  };
}

export const idleProvisioner = idle('idle-provisioner');
export const idleAttacher = idle('idle-attacher');
export const idleResizer = idle('idle-resizer');
