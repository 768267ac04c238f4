// Provisioning bursts: N claims at once (Immediate), or N claims with a consumer pod each
// (WaitForFirstConsumer, the scheduler picks the nodes). An object has converged when its PV
// exists: that is the provisioner's whole job; binding is kube-controller-manager's.
import { SCENARIOS } from '../catalogue.js';
import { BENCH_CONCURRENCY, SC_IMMEDIATE, SC_WFFC } from '../cluster.js';
import { convergenceFigures, figure } from '../figures.js';
import { mapLimit, type KubeObject } from '../kube/api.js';
import { ANN_SELECTED_NODE, claim, consumerPod, paths } from '../kube/objects.js';
import { summarize } from '../stats.js';
import { ConvergenceTracker, watchFromNow, type RunContext, type Scenario, type WorkloadResult } from './scenario.js';

/** The load's claims; the sidecar's start-up probe is named otherwise. */
const CLAIM_PREFIX = 'c-';

interface PvObject extends KubeObject {
  spec?: { claimRef?: { namespace?: string; name?: string } };
}

async function provisionWorkload(ctx: RunContext, late: boolean): Promise<WorkloadResult> {
  const { api, driver } = ctx.cluster;
  const tracker = new ConvergenceTracker();
  /** Late binding: when the scheduler's selected-node annotation was seen on each claim. */
  const selectedAt = new Map<string, number>();
  const failed = new AbortController();
  const onError = (err: unknown) => failed.abort(err);
  const pvWatch = await watchFromNow<PvObject>(
    api,
    paths.volumes,
    (e) => {
      const ref = e.object.spec?.claimRef;
      if (e.type !== 'DELETED' && ref?.namespace === ctx.ns && ref.name?.startsWith(CLAIM_PREFIX)) tracker.converged(ref.name, e.at);
    },
    onError,
  );
  const claimWatch = late
    ? await watchFromNow<KubeObject>(
        api,
        paths.claims(ctx.ns),
        (e) => {
          const name = e.object.metadata?.name;
          if (name && e.object.metadata?.annotations?.[ANN_SELECTED_NODE] && !selectedAt.has(name)) selectedAt.set(name, e.at);
        },
        onError,
      )
    : undefined;
  try {
    const names = Array.from({ length: ctx.size }, (_, i) => `${CLAIM_PREFIX}${i}`);
    const startedAt = performance.now();
    ctx.progress(`creating ${names.length} claims${late ? ' and pods' : ''}`);
    await mapLimit(names, BENCH_CONCURRENCY, async (name, i) => {
      tracker.sent(name);
      await api.create(paths.claims(ctx.ns), claim(name, ctx.ns, late ? SC_WFFC : SC_IMMEDIATE, driver, ctx.runId));
      if (late) await api.create(paths.pods(ctx.ns), consumerPod(`p-${i}`, ctx.ns, name, ctx.runId));
    });
    ctx.progress(`${names.length} sent; waiting for PVs`);
    const ticker = setInterval(() => ctx.progress(`${tracker.convergedAt.size}/${names.length} PVs`), 1000);
    try {
      await tracker.waitFor(names.length, ctx.timeoutMs, 'claims have a PV', failed.signal);
    } finally {
      clearInterval(ticker);
    }
    const figures = convergenceFigures({ startedAt, sentAt: late ? selectedAt : tracker.sentAt, convergedAt: tracker.convergedAt });
    if (late) {
      // The scheduler's share, for context: claim created → selected-node annotation.
      const sched = summarize([...selectedAt].map(([n, at]) => at - (tracker.sentAt.get(n) ?? at)));
      if (sched) figures.push(figure('sched_p95_ms', 'scheduler: created → selected-node p95', 'ms', 'lower', sched.p95));
    }
    return {
      objects: names.length,
      figures,
      notes: late ? ['latency: from the selected-node annotation (scheduler) to the PV'] : ['latency: from the claim create request to the PV'],
    };
  } finally {
    await pvWatch.stop();
    await claimWatch?.stop();
  }
}

export const provisionImmediate: Scenario = {
  info: SCENARIOS.provision,
  usesBackend: true,
  async prepare() {},
  workload: (ctx) => provisionWorkload(ctx, false),
};

export const provisionLate: Scenario = {
  info: SCENARIOS['provision-wffc'],
  usesBackend: true,
  async prepare() {},
  workload: (ctx) => provisionWorkload(ctx, true),
};
