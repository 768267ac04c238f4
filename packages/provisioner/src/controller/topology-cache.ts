// Per-claim memory of what topology was computed for it (keys, selected node labels, requisite
// terms), so every retry of CreateVolume sends the same accessibility requirements even if nodes
// come and go meanwhile: the driver then sees an idempotent request. Entries are dropped on
// success, on a final error, on rescheduling and — unlike Go, where they leak — when the claim
// is deleted.

import type { TopologyTerm } from './topology-terms.js';

export interface TopologyInfo {
  topologyKeys?: readonly string[];
  nodeLabels?: Readonly<Record<string, string>>;
  requisiteTerms?: readonly TopologyTerm[];
}

export class TopologyCache {
  readonly #data = new Map<string, TopologyInfo>();

  get size(): number {
    return this.#data.size;
  }

  get(claimUid: string): TopologyInfo | undefined {
    return this.#data.get(claimUid);
  }

  delete(claimUid: string): void {
    this.#data.delete(claimUid);
  }

  /** Keeps only entries of claims for which `keep` returns true (garbage collection). */
  retain(keep: (claimUid: string) => boolean): number {
    let removed = 0;
    for (const uid of [...this.#data.keys()]) {
      if (!keep(uid)) {
        this.#data.delete(uid);
        removed++;
      }
    }
    return removed;
  }

  setTopologyKeys(claimUid: string, keys: readonly string[]): void {
    this.#update(claimUid, { topologyKeys: [...keys] });
  }

  setNodeLabels(claimUid: string, labels: Readonly<Record<string, string>>): void {
    this.#update(claimUid, { nodeLabels: { ...labels } });
  }

  setRequisiteTerms(claimUid: string, terms: readonly TopologyTerm[]): void {
    this.#update(claimUid, { requisiteTerms: terms.map((t) => [...t]) });
  }

  #update(claimUid: string, patch: TopologyInfo): void {
    this.#data.set(claimUid, { ...this.#data.get(claimUid), ...patch });
  }
}
