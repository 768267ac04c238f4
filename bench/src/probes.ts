// A probe: one small job for the sidecar, written before it starts. A controller only works once
// its caches have synced, so the moment the probe is done is when the sidecar became useful: the
// bench starts the load only then, and the idle scenarios report it as the start-up and sync time.
// The same test for both implementations, with no reliance on their logs.
import type { SidecarName } from './catalogue.js';
import type { BenchCluster } from './cluster.js';
import { SC_IMMEDIATE } from './cluster.js';
import { ApiError, withRetry, type KubeObject } from './kube/api.js';
import { ANN_STORAGE_RESIZER, claim, paths, provisionedVolume, volumeAttachment, volumePhase } from './kube/objects.js';
import { createBoundPairs } from './scenarios/bound-pairs.js';

export const PROBE_SET = 'probe';
const PROBE_SIZE = '2Gi';

export interface Probe {
  what: string;
  /** Whether the sidecar has done the probe's job (one cheap GET). */
  done(): Promise<boolean>;
}

async function exists(cluster: BenchCluster, path: string): Promise<KubeObject | undefined> {
  try {
    return await cluster.api.get(path);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}

/** Writes the probe for a sidecar into the run's namespace. */
export async function createProbe(cluster: BenchCluster, sidecar: SidecarName, ns: string, runId: string): Promise<Probe> {
  const { api, driver } = cluster;
  switch (sidecar) {
    case 'provisioner': {
      const created = await api.create<KubeObject>(paths.claims(ns), claim('probe', ns, SC_IMMEDIATE, driver, PROBE_SET));
      // Both provisioners name the PV <--volume-name-prefix>-<claim UID>, "pvc-" by default.
      const pv = `pvc-${created.metadata?.uid ?? ''}`;
      return { what: `PV ${pv} for claim ${ns}/probe`, done: async () => (await exists(cluster, paths.volume(pv))) !== undefined };
    }
    case 'attacher': {
      const [handle] = await cluster.backend.createVolumes([`probe-${runId}`]);
      const pv = `probe-${runId}-pv`;
      await cluster.withControllerManagerPaused(async () => {
        await api.create(paths.volumes, provisionedVolume(pv, driver, handle!, SC_IMMEDIATE, PROBE_SET));
        await withRetry(`PV ${pv} status`, () => api.mergePatch(`${paths.volume(pv)}/status`, volumePhase('Available')));
      });
      const va = `probe-${runId}`;
      await api.create(paths.attachments, volumeAttachment(va, driver, cluster.info.nodeNames[0]!, pv, PROBE_SET));
      return {
        what: `VolumeAttachment ${va} attached`,
        done: async () => ((await exists(cluster, paths.attachment(va))) as { status?: { attached?: boolean } } | undefined)?.status?.attached === true,
      };
    }
    case 'resizer': {
      const handles = await cluster.backend.createVolumes([`probe-${runId}`]);
      // A PV name of this run only: kube-controller-manager may still remember the last run's.
      const [pair] = await createBoundPairs(cluster, ns, `${runId}-${PROBE_SET}`, handles, { claimPrefix: 'probe-', claimAnnotations: { [ANN_STORAGE_RESIZER]: driver } });
      const name = pair!.claim;
      await api.mergePatch(paths.claim(ns, name), { spec: { resources: { requests: { storage: PROBE_SIZE } } } });
      return {
        what: `claim ${ns}/${name} expanded`,
        done: async () =>
          ((await exists(cluster, paths.claim(ns, name))) as { status?: { capacity?: { storage?: string } } } | undefined)?.status?.capacity?.storage === PROBE_SIZE,
      };
    }
  }
}
