// Idle: a cluster holding N bound PVC/PV pairs (2N objects) that need nothing from the sidecar.
// What counts is how long the sidecar takes to sync them (start until its CPU and API use go
// quiet) and how much memory it keeps afterwards. One data set serves every idle scenario: it is
// written once, and grown (never rebuilt) when a later scenario needs more pairs — the
// 10k-volume runs come after the 5k-pair ones and add only the missing 5000 pairs.
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
  if (populated >= pairs) {
    // A smaller size after a larger one would measure the larger data set.
    if (populated > pairs) throw new Error(`the idle data set already holds ${populated} pairs; cannot shrink it to ${pairs} (run the smaller idle size first)`);
    return;
  }
  const started = Date.now();
  const adding = pairs - populated;
  log(`idle data set: writing ${adding} bound PVC/PV pairs (${2 * adding} objects)${populated > 0 ? `, growing it from ${populated} to ${pairs} pairs` : ''}`);
  if (populated === 0) await cluster.createNamespace(IDLE_NAMESPACE);
  // No plugin volumes behind them: an idle sidecar never calls the plugin for a bound volume.
  const handles = Array.from({ length: adding }, (_, i) => `idle-volume-${populated + i}`);
  await createBoundPairs(cluster, IDLE_NAMESPACE, KEEP_SET, handles, {
    claimAnnotations: { [ANN_STORAGE_RESIZER]: cluster.driver },
    firstIndex: populated,
    onProgress: (n) => log(`idle data set: ${populated + n}/${pairs}`),
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
export const idleProvisionerLarge = idle('idle-provisioner-10k-volumes');
export const idleAttacherLarge = idle('idle-attacher-10k-volumes');
export const idleResizerLarge = idle('idle-resizer-10k-volumes');
