// Expansion: N bound claims (volumes in the plugin) grow from 1Gi to 2Gi at once; converged when
// the claim's status.capacity shows 2Gi (the mock plugin needs no node-side expansion).
// The claims carry the storage-resizer annotation from the start: kube-controller-manager's
// expand controller would add it on the first resize, at its own client limit (QPS 20).
import { SCENARIOS } from '../catalogue.js';
import { BENCH_CONCURRENCY } from '../cluster.js';
import { convergenceFigures } from '../figures.js';
import { mapLimit, type KubeObject } from '../kube/api.js';
import { ANN_STORAGE_RESIZER, paths } from '../kube/objects.js';
import { createBoundPairs, type BoundPair } from './bound-pairs.js';
import { ConvergenceTracker, watchFromNow, type RunContext, type Scenario } from './scenario.js';

interface ClaimObject extends KubeObject {
  status?: { capacity?: { storage?: string } };
}

const NEW_SIZE = '2Gi';
const pairsOf = new Map<string, BoundPair[]>();

export const expandScenario: Scenario = {
  info: SCENARIOS.expand,
  usesBackend: true,

  async prepare(ctx: RunContext) {
    const handles = await ctx.cluster.backend.createVolumes(Array.from({ length: ctx.size }, (_, i) => `${ctx.runId}-${i}`));
    pairsOf.set(ctx.runId, await createBoundPairs(ctx.cluster, ctx.ns, ctx.runId, handles, { claimAnnotations: { [ANN_STORAGE_RESIZER]: ctx.cluster.driver } }));
  },

  async workload(ctx: RunContext) {
    const { api } = ctx.cluster;
    const pairs = pairsOf.get(ctx.runId) ?? [];
    pairsOf.delete(ctx.runId);
    const tracker = new ConvergenceTracker();
    const failed = new AbortController();
    const watch = await watchFromNow<ClaimObject>(
      api,
      paths.claims(ctx.ns),
      (e) => {
        const name = e.object.metadata?.name;
        // Only the load's claims (c-<i>), not the start-up probe.
        if (name?.startsWith('c-') && e.type !== 'DELETED' && e.object.status?.capacity?.storage === NEW_SIZE) tracker.converged(name, e.at);
      },
      (err) => failed.abort(err),
    );
    try {
      const startedAt = performance.now();
      ctx.progress(`expanding ${pairs.length} claims`);
      await mapLimit(pairs, BENCH_CONCURRENCY, async (p) => {
        tracker.sent(p.claim);
        await api.mergePatch(paths.claim(ctx.ns, p.claim), { spec: { resources: { requests: { storage: NEW_SIZE } } } });
      });
      const ticker = setInterval(() => ctx.progress(`${tracker.convergedAt.size}/${pairs.length} expanded`), 1000);
      try {
        await tracker.waitFor(pairs.length, ctx.timeoutMs, 'claims expanded', failed.signal);
      } finally {
        clearInterval(ticker);
      }
      return {
        objects: pairs.length,
        figures: convergenceFigures({ startedAt, sentAt: tracker.sentAt, convergedAt: tracker.convergedAt }),
        notes: ['latency: from the size patch to status.capacity = 2Gi'],
      };
    } finally {
      await watch.stop();
    }
  },
};
