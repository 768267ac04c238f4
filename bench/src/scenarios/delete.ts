// Deletion: N bound claims whose volumes exist in the plugin are deleted; the provisioner must
// delete each volume (DeleteVolume) and its PV, until none of those volumes is left in ListVolumes.
//
// kube-controller-manager's share (marking each PV Released once its claim is gone) is done by
// the bench, object by object right after the claim, with KCM paused for that moment: KCM would
// otherwise release the PVs at its own client limit (QPS 20) and the provisioner would only ever
// see that trickle.
import { SCENARIOS } from '../catalogue.js';
import { BENCH_CONCURRENCY } from '../cluster.js';
import { convergenceFigures } from '../figures.js';
import { ApiError, mapLimit, type KubeObject } from '../kube/api.js';
import { BENCH_LABEL, PROVISIONER_FINALIZER, paths, volumePhase } from '../kube/objects.js';
import { createBoundPairs, type BoundPair } from './bound-pairs.js';
import { ConvergenceTracker, sleep, watchFromNow, type RunContext, type Scenario } from './scenario.js';

async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
}

const pairsOf = new Map<string, { pairs: BoundPair[]; handles: string[] }>();

export const deleteScenario: Scenario = {
  info: SCENARIOS.delete,
  usesBackend: true,

  async prepare(ctx: RunContext) {
    const handles = await ctx.cluster.backend.createVolumes(Array.from({ length: ctx.size }, (_, i) => `${ctx.runId}-${i}`));
    pairsOf.set(ctx.runId, { pairs: await createBoundPairs(ctx.cluster, ctx.ns, ctx.runId, handles), handles });
  },

  async workload(ctx: RunContext) {
    const { api, backend } = ctx.cluster;
    const { pairs, handles } = pairsOf.get(ctx.runId) ?? { pairs: [], handles: [] };
    pairsOf.delete(ctx.runId);
    const tracker = new ConvergenceTracker();
    const failed = new AbortController();
    const watch = await watchFromNow<KubeObject>(
      api,
      `${paths.volumes}?labelSelector=${encodeURIComponent(`${BENCH_LABEL}=${ctx.runId}`)}`,
      (e) => {
        // The provisioner is done with a PV once it is gone, or deleted and without its finalizer:
        // what remains (kubernetes.io/pv-protection) is kube-controller-manager's to remove.
        const m = e.object.metadata;
        if (!m?.name) return;
        if (e.type === 'DELETED' || (m.deletionTimestamp && !(m.finalizers ?? []).includes(PROVISIONER_FINALIZER))) tracker.converged(m.name, e.at);
      },
      (err) => failed.abort(err),
    );
    try {
      const startedAt = performance.now();
      ctx.progress(`deleting ${pairs.length} claims, releasing their PVs`);
      await ctx.cluster.withControllerManagerPaused(() =>
        mapLimit(pairs, BENCH_CONCURRENCY, async (p) => {
          // One object at a time, claim then PV, so that every PV is released right after its claim
          // went (a sidecar that acts on the claim's deletion alone may have the PV gone already).
          tracker.sent(p.volume);
          await api.remove(paths.claim(ctx.ns, p.claim));
          await ignoreNotFound(api.mergePatch(paths.claim(ctx.ns, p.claim), { metadata: { finalizers: null } }));
          await ignoreNotFound(api.mergePatch(`${paths.volume(p.volume)}/status`, volumePhase('Released')));
        }),
      );
      const ticker = setInterval(() => ctx.progress(`${tracker.convergedAt.size}/${pairs.length} PVs let go`), 1000);
      try {
        await tracker.waitFor(pairs.length, ctx.timeoutMs, 'PVs deleted', failed.signal);
      } finally {
        clearInterval(ticker);
      }
      // The provisioner is done with the PVs; their volumes must be gone from the plugin too.
      const deadline = performance.now() + 60_000;
      let left = await backend.remaining(handles);
      while (left > 0) {
        if (performance.now() > deadline) throw new Error(`${left} of the deleted PVs' volumes still in the plugin 60 s after the provisioner let go of the last PV`);
        await sleep(100);
        left = await backend.remaining(handles);
      }
      const endedAt = performance.now();
      return {
        objects: pairs.length,
        figures: convergenceFigures({ startedAt, sentAt: tracker.sentAt, convergedAt: tracker.convergedAt, endedAt }),
        notes: ['latency: from the claim deletion (its PV marked Released right after) to the PV deleted, or terminating without the provisioner finalizer; converged: none of the volumes left in ListVolumes'],
      };
    } finally {
      await watch.stop();
    }
  },
};
