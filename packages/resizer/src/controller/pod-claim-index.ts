// Which claims running pods use, for the offline-expansion gate (--handle-volume-inuse-error).
//
// The Go resizer keeps a full cluster-wide Pod informer for this and runs out of memory in
// clusters with many pods (external-resizer #211). This index is fed by a reflector (it is the
// reflector's sink) and keeps only "pod ns/name → claim keys" for pods that are not terminated
// and mount at least one PVC; every other pod is dropped on arrival. The list/watch also asks the
// apiserver to leave out terminated pods (see NON_TERMINATED_PODS), so a pod that finishes
// arrives as a delete.

export const NON_TERMINATED_PODS = 'status.phase!=Succeeded,status.phase!=Failed';

interface PodLike {
  metadata?: { name?: string; namespace?: string };
  spec?: { volumes?: readonly { name?: string; persistentVolumeClaim?: { claimName?: string } | null }[] | null };
  status?: { phase?: string };
}

/** "namespace/claim" for each PVC volume of a pod that is not terminated; [] otherwise. */
export function claimsUsedBy(pod: PodLike): string[] {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return [];
  const ns = pod.metadata?.namespace ?? '';
  const out = new Set<string>();
  for (const v of pod.spec?.volumes ?? []) {
    const claim = v.persistentVolumeClaim?.claimName;
    if (claim) out.add(`${ns}/${claim}`);
  }
  return [...out];
}

function podKey(pod: PodLike): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}

export class PodClaimIndex {
  readonly #podClaims = new Map<string, readonly string[]>();
  readonly #claimPods = new Map<string, Set<string>>();
  #synced = false;
  #waiters: (() => void)[] = [];

  // ---- reflector sink ----

  replace(items: readonly unknown[]): void {
    this.#podClaims.clear();
    this.#claimPods.clear();
    for (const item of items) this.upsert(item);
    if (!this.#synced) {
      this.#synced = true;
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const w of waiters) w();
    }
  }

  upsert(obj: unknown): void {
    const pod = obj as PodLike;
    const key = podKey(pod);
    this.#unlink(key);
    const claims = claimsUsedBy(pod);
    if (claims.length === 0) return;
    this.#podClaims.set(key, claims);
    for (const c of claims) {
      let pods = this.#claimPods.get(c);
      if (!pods) this.#claimPods.set(c, (pods = new Set()));
      pods.add(key);
    }
  }

  delete(obj: unknown): void {
    this.#unlink(podKey(obj as PodLike));
  }

  // ---- queries ----

  /** True when a pod that is not terminated lists the claim among its volumes. */
  isClaimInUse(namespace: string, name: string): boolean {
    return this.#claimPods.has(`${namespace}/${name}`);
  }

  podsUsing(namespace: string, name: string): string[] {
    return [...(this.#claimPods.get(`${namespace}/${name}`) ?? [])];
  }

  /** Pods held: only those with PVC volumes. */
  get size(): number {
    return this.#podClaims.size;
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== done);
        reject(signal!.reason);
      };
      const done = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.#waiters.push(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #unlink(key: string): void {
    const claims = this.#podClaims.get(key);
    if (!claims) return;
    this.#podClaims.delete(key);
    for (const c of claims) {
      const pods = this.#claimPods.get(c);
      if (!pods) continue;
      pods.delete(key);
      if (pods.size === 0) this.#claimPods.delete(c);
    }
  }
}
