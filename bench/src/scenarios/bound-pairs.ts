// Bound PVC/PV pairs written directly, as they look after provisioning and binding, with
// kube-controller-manager paused so its binder does not race the half-written pairs (and does
// not bind them itself, at its own client limit).
import { BENCH_CONCURRENCY, SC_IMMEDIATE, type BenchCluster } from '../cluster.js';
import { mapLimit, withRetry, type KubeObject } from '../kube/api.js';
import { BENCH_LABEL, BOUND_CLAIM_ANNOTATIONS, boundClaimStatus, claim, paths, provisionedVolume, volumePhase } from '../kube/objects.js';
import { sleep } from './scenario.js';

export interface BoundPair {
  claim: string;
  volume: string;
}

export interface BoundPairOptions {
  claimAnnotations?: Record<string, string>;
  /** Claims are named <prefix><index>; default 'c-'. */
  claimPrefix?: string;
  /** Index of the first pair (to add pairs to a set written before); default 0. */
  firstIndex?: number;
  onProgress?: (done: number) => void;
}

export async function createBoundPairs(cluster: BenchCluster, ns: string, set: string, handles: readonly string[], opts: BoundPairOptions = {}): Promise<BoundPair[]> {
  const { claimAnnotations = {}, claimPrefix = 'c-', firstIndex = 0, onProgress } = opts;
  const { api, driver } = cluster;
  let done = 0;
  const pairs = await cluster.withControllerManagerPaused(() =>
    mapLimit(handles, BENCH_CONCURRENCY, async (handle, index) => {
      const i = firstIndex + index;
      const claimName = `${claimPrefix}${i}`;
      const volume = `${set}-${claimPrefix}pv-${i}`;
      const created = await api.create<KubeObject>(
        paths.claims(ns),
        claim(claimName, ns, SC_IMMEDIATE, driver, set, { volumeName: volume, annotations: { ...BOUND_CLAIM_ANNOTATIONS, ...claimAnnotations } }),
      );
      const uid = created.metadata?.uid;
      if (!uid) throw new Error(`claim ${ns}/${claimName} was created without a uid`);
      await api.create(paths.volumes, provisionedVolume(volume, driver, handle, SC_IMMEDIATE, set, { namespace: ns, name: claimName, uid }));
      await withRetry(`PV ${volume} status`, () => api.mergePatch(`${paths.volume(volume)}/status`, volumePhase('Bound')));
      await withRetry(`claim ${claimName} status`, () => api.mergePatch(`${paths.claim(ns, claimName)}/status`, boundClaimStatus()));
      done++;
      if (onProgress && done % 500 === 0) onProgress(done);
      return { claim: claimName, volume };
    }),
  );
  await keepBound(cluster, ns, set);
  return pairs;
}

interface Phased extends KubeObject {
  status?: { phase?: string };
}

/**
 * After the pause, kube-controller-manager receives the claims and the PVs on two separate watches;
 * a claim it syncs before its PV has arrived looks bound to a missing volume and is marked Lost.
 * Once KCM has caught up, such claims (and PVs) are put back to Bound; KCM then finds them
 * consistent and leaves them alone.
 */
async function keepBound(cluster: BenchCluster, ns: string, set: string): Promise<void> {
  const { api } = cluster;
  const selector = `&labelSelector=${encodeURIComponent(`${BENCH_LABEL}=${set}`)}`;
  let cleanRounds = 0;
  for (let round = 0; round < 40; round++) {
    await sleep(round === 0 ? 1000 : 500);
    const claims = (await api.listAll<Phased>(paths.claims(ns), selector)).items.filter((c) => c.status?.phase !== 'Bound');
    const volumes = (await api.listAll<Phased>(paths.volumes, selector)).items.filter((v) => v.status?.phase !== 'Bound');
    if (claims.length === 0 && volumes.length === 0) {
      if (++cleanRounds >= 2) return;
      continue;
    }
    cleanRounds = 0;
    await mapLimit(volumes, BENCH_CONCURRENCY, (v) => api.mergePatch(`${paths.volume(v.metadata!.name!)}/status`, volumePhase('Bound')));
    await mapLimit(claims, BENCH_CONCURRENCY, (c) => api.mergePatch(`${paths.claim(ns, c.metadata!.name!)}/status`, boundClaimStatus()));
  }
  throw new Error(`bound pairs in ${ns}: kube-controller-manager keeps unbinding them`);
}
