// Attach and detach with VolumeAttachments the bench creates and deletes itself (a synthetic load:
// kube-controller-manager's attach/detach controller would create them for scheduled pods, but at
// its own client limit, QPS 20). The PVs point at volumes that exist in the plugin; the VAs are
// spread over the fake nodes, whose CSINode carries the node ID the mock plugin accepts.
import { SCENARIOS } from '../catalogue.js';
import { BENCH_CONCURRENCY, SC_IMMEDIATE, type BenchCluster } from '../cluster.js';
import { convergenceFigures } from '../figures.js';
import { mapLimit, withRetry, type KubeObject } from '../kube/api.js';
import { BENCH_LABEL, paths, provisionedVolume, volumeAttachment, volumePhase } from '../kube/objects.js';
import { ConvergenceTracker, sleep, watchFromNow, type RunContext, type Scenario, type WorkloadResult } from './scenario.js';

interface VaObject extends KubeObject {
  status?: { attached?: boolean };
}

/** Unbound PVs for `count` new plugin volumes; returns the PV names. */
async function createVolumes(cluster: BenchCluster, runId: string, count: number): Promise<string[]> {
  const { api, driver } = cluster;
  const handles = await cluster.backend.createVolumes(Array.from({ length: count }, (_, i) => `${runId}-${i}`));
  return cluster.withControllerManagerPaused(() =>
    mapLimit(handles, BENCH_CONCURRENCY, async (handle, i) => {
      const name = `${runId}-pv-${i}`;
      await api.create(paths.volumes, provisionedVolume(name, driver, handle, SC_IMMEDIATE, runId));
      await withRetry(`PV ${name} status`, () => api.mergePatch(`${paths.volume(name)}/status`, volumePhase('Available')));
      return name;
    }),
  );
}

class AttachmentWatch {
  readonly attached = new ConvergenceTracker();
  readonly detached = new ConvergenceTracker();
  readonly failed = new AbortController();

  static async start(ctx: RunContext): Promise<{ w: AttachmentWatch; stop: () => Promise<void> }> {
    const w = new AttachmentWatch();
    const watch = await watchFromNow<VaObject>(
      ctx.cluster.api,
      `${paths.attachments}?labelSelector=${encodeURIComponent(`${BENCH_LABEL}=${ctx.runId}`)}`,
      (e) => {
        const name = e.object.metadata?.name;
        if (!name) return;
        if (e.type === 'DELETED') w.detached.converged(name, e.at);
        else if (e.object.status?.attached === true) w.attached.converged(name, e.at);
      },
      (err) => w.failed.abort(err),
    );
    return { w, stop: () => watch.stop() };
  }
}

function vaName(runId: string, i: number): string {
  return `${runId}-va-${i}`;
}

const volumesOf = new Map<string, string[]>();

async function waitWithProgress(ctx: RunContext, t: ConvergenceTracker, count: number, what: string, signal: AbortSignal): Promise<void> {
  const ticker = setInterval(() => ctx.progress(`${t.convergedAt.size}/${count} ${what}`), 1000);
  try {
    await t.waitFor(count, ctx.timeoutMs, what, signal);
  } finally {
    clearInterval(ticker);
  }
}

export const attachDetach: Scenario = {
  info: SCENARIOS['attach-detach'],
  usesBackend: true,

  async prepare(ctx) {
    volumesOf.set(ctx.runId, await createVolumes(ctx.cluster, ctx.runId, ctx.size));
  },

  async workload(ctx): Promise<WorkloadResult> {
    const { api, driver, info } = ctx.cluster;
    const volumes = volumesOf.get(ctx.runId) ?? [];
    volumesOf.delete(ctx.runId);
    const { w, stop } = await AttachmentWatch.start(ctx);
    try {
      const names = volumes.map((_, i) => vaName(ctx.runId, i));
      const attachStart = performance.now();
      ctx.progress(`creating ${names.length} VolumeAttachments`);
      await mapLimit(volumes, BENCH_CONCURRENCY, async (pv, i) => {
        w.attached.sent(names[i]!);
        await api.create(paths.attachments, volumeAttachment(names[i]!, driver, info.nodeNames[i % info.nodeNames.length]!, pv, ctx.runId));
      });
      await waitWithProgress(ctx, w.attached, names.length, 'attached', w.failed.signal);
      const detachStart = performance.now();
      ctx.progress(`deleting ${names.length} VolumeAttachments`);
      await mapLimit(names, BENCH_CONCURRENCY, async (name) => {
        w.detached.sent(name);
        await api.remove(paths.attachment(name));
      });
      await waitWithProgress(ctx, w.detached, names.length, 'detached', w.failed.signal);
      return {
        objects: names.length,
        figures: [
          ...convergenceFigures({ startedAt: attachStart, sentAt: w.attached.sentAt, convergedAt: w.attached.convergedAt }, 'attach_', 'attach: '),
          ...convergenceFigures({ startedAt: detachStart, sentAt: w.detached.sentAt, convergedAt: w.detached.convergedAt }, 'detach_', 'detach: '),
        ],
        notes: ['attach: VA created → status.attached; detach: VA deleted → gone (finalizer removed after ControllerUnpublish)'],
      };
    } finally {
      await stop();
    }
  },
};

/** Of the flood, how much is sent before the detaches start (so the attach queue is full). */
const FLOOD_HEAD_START = 0.25;

export const detachUnderFlood: Scenario = {
  info: SCENARIOS['detach-under-attach-flood'],
  usesBackend: true,

  async prepare(ctx) {
    const detaches = Math.max(2, Math.round(ctx.size / 5));
    volumesOf.set(ctx.runId, await createVolumes(ctx.cluster, ctx.runId, ctx.size + detaches));
  },

  async workload(ctx): Promise<WorkloadResult> {
    const { api, driver, info } = ctx.cluster;
    const volumes = volumesOf.get(ctx.runId) ?? [];
    volumesOf.delete(ctx.runId);
    const flood = volumes.slice(0, ctx.size);
    const early = volumes.slice(ctx.size);
    const node = (i: number) => info.nodeNames[i % info.nodeNames.length]!;
    const { w, stop } = await AttachmentWatch.start(ctx);
    try {
      // Not measured: the volumes that will be detached are attached first.
      const earlyNames = early.map((_, i) => vaName(ctx.runId, ctx.size + i));
      ctx.progress(`attaching ${earlyNames.length} volumes to detach later`);
      const pre = new ConvergenceTracker();
      const preWatch = setInterval(() => {
        for (const n of earlyNames) {
          const at = w.attached.convergedAt.get(n);
          if (at !== undefined) pre.converged(n, at);
        }
      }, 50);
      try {
        await mapLimit(early, BENCH_CONCURRENCY, (pv, i) => api.create(paths.attachments, volumeAttachment(earlyNames[i]!, driver, node(ctx.size + i), pv, ctx.runId)));
        await waitWithProgress(ctx, pre, earlyNames.length, 'pre-attached', w.failed.signal);
      } finally {
        clearInterval(preWatch);
      }

      const floodNames = flood.map((_, i) => vaName(ctx.runId, i));
      const floodStart = performance.now();
      ctx.progress(`flood of ${floodNames.length} attaches, then ${earlyNames.length} detaches`);
      const attaches = new ConvergenceTracker();
      const floodSent = mapLimit(flood, BENCH_CONCURRENCY, async (pv, i) => {
        attaches.sent(floodNames[i]!);
        await api.create(paths.attachments, volumeAttachment(floodNames[i]!, driver, node(i), pv, ctx.runId));
      });
      while (attaches.sentAt.size < Math.ceil(floodNames.length * FLOOD_HEAD_START)) await sleep(5);
      const detachStart = performance.now();
      const detachSent = mapLimit(earlyNames, BENCH_CONCURRENCY, async (name) => {
        w.detached.sent(name);
        await api.remove(paths.attachment(name));
      });
      await Promise.all([floodSent, detachSent]);
      const copyAttached = setInterval(() => {
        for (const n of floodNames) {
          const at = w.attached.convergedAt.get(n);
          if (at !== undefined) attaches.converged(n, at);
        }
      }, 50);
      try {
        await waitWithProgress(ctx, w.detached, earlyNames.length, 'detached under the flood', w.failed.signal);
        await waitWithProgress(ctx, attaches, floodNames.length, 'flood attached', w.failed.signal);
      } finally {
        clearInterval(copyAttached);
      }
      return {
        objects: floodNames.length + earlyNames.length,
        figures: [
          ...convergenceFigures({ startedAt: detachStart, sentAt: w.detached.sentAt, convergedAt: w.detached.convergedAt }, 'detach_', 'detach under flood: '),
          ...convergenceFigures({ startedAt: floodStart, sentAt: attaches.sentAt, convergedAt: attaches.convergedAt }, 'attach_', 'flood attach: '),
        ],
        notes: [`${earlyNames.length} detaches issued once ${Math.round(FLOOD_HEAD_START * 100)}% of ${floodNames.length} attaches were sent`],
      };
    } finally {
      await stop();
    }
  },
};
