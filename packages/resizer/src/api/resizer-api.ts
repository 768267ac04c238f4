// The writes the resize and modify controllers make, behind one small interface so controller
// tests can run against the fake apiserver or an in-memory double.
//
// PVC status: an RFC 7386 merge patch of old → new on the status subresource (annotations
// travel with it: the PVC status strategy keeps metadata edits). The Go resizer sends a
// strategic merge patch, which merges the conditions list by type; a merge patch replaces the
// list whole, so every PVC status patch carries the resourceVersion precondition. Where the Go
// resizer patches without one (recording a failure, finishing a modify, a rollback) we instead
// re-read the claim on 409 and apply the same change to the fresh copy: nothing is lost and
// nobody else's condition is overwritten.
//
// PV: a merge patch without precondition (maps only: capacity, annotations, the VAC name), as Go.

import {
  createMergePatch,
  getObject,
  isEmptyPatch,
  patchObject,
  PERSISTENT_VOLUME_CLAIMS,
  PERSISTENT_VOLUMES,
  retryOnConflict,
  SECRETS,
} from '@csi-sidecars-ts/shared';
import type { Clock, KubeRequester, PersistentVolume, PersistentVolumeClaim, Secret } from '@csi-sidecars-ts/shared';
import type { SecretSource } from '../resizer/secrets.js';

export type ClaimMutation = (claim: PersistentVolumeClaim) => PersistentVolumeClaim;

export interface ClaimStatusWriteOptions {
  /**
   * true: the write fails with 409 if the claim changed since it was read (the caller retries
   * the whole sync). false: on 409 the claim is re-read and the mutation applied again.
   */
  precondition: boolean;
}

export interface ResizerApi extends SecretSource {
  /** Writes mutate(claim) through the status subresource; returns the stored claim. */
  updateClaimStatus(claim: PersistentVolumeClaim, mutate: ClaimMutation, opts: ClaimStatusWriteOptions): Promise<PersistentVolumeClaim>;
  /** Patches a PV from `volume` to `next`; returns the stored PV. */
  patchVolume(volume: PersistentVolume, next: PersistentVolume): Promise<PersistentVolume>;
}

function claimRef(claim: PersistentVolumeClaim): { name: string; namespace: string } {
  const name = claim.metadata?.name;
  const namespace = claim.metadata?.namespace;
  if (!name || !namespace) throw new Error('PVC without metadata.name/namespace');
  return { name, namespace };
}

export class KubeResizerApi implements ResizerApi {
  readonly #client: KubeRequester;
  readonly #clock: Clock | undefined;

  constructor(client: KubeRequester, clock?: Clock) {
    this.#client = client;
    this.#clock = clock;
  }

  async updateClaimStatus(claim: PersistentVolumeClaim, mutate: ClaimMutation, opts: ClaimStatusWriteOptions): Promise<PersistentVolumeClaim> {
    const { name, namespace } = claimRef(claim);
    const write = async (current: PersistentVolumeClaim): Promise<PersistentVolumeClaim> => {
      const next = mutate(current);
      if (isEmptyPatch(createMergePatch(current, next))) return current;
      const patch = createMergePatch(current, next, { withResourceVersion: true });
      return patchObject<PersistentVolumeClaim>(this.#client, PERSISTENT_VOLUME_CLAIMS, name, namespace, patch, 'merge', { subresource: 'status' });
    };
    if (opts.precondition) {
      try {
        return await write(claim);
      } catch (err) {
        throw new Error(`can't patch status of PVC ${namespace}/${name}: ${(err as Error).message}`, { cause: err });
      }
    }
    let current = claim;
    try {
      return await retryOnConflict(
        async (attempt) => {
          if (attempt > 1) current = await getObject<PersistentVolumeClaim>(this.#client, PERSISTENT_VOLUME_CLAIMS, name, namespace);
          return write(current);
        },
        { clock: this.#clock },
      );
    } catch (err) {
      throw new Error(`can't patch status of PVC ${namespace}/${name}: ${(err as Error).message}`, { cause: err });
    }
  }

  async patchVolume(volume: PersistentVolume, next: PersistentVolume): Promise<PersistentVolume> {
    const name = volume.metadata?.name;
    if (!name) throw new Error('PV without metadata.name');
    const patch = createMergePatch(volume, next);
    if (isEmptyPatch(patch)) return volume;
    try {
      return await patchObject<PersistentVolume>(this.#client, PERSISTENT_VOLUMES, name, undefined, patch, 'merge');
    } catch (err) {
      throw new Error(`can't patch PV ${name}: ${(err as Error).message}`, { cause: err });
    }
  }

  getSecret(namespace: string, name: string): Promise<Secret> {
    return getObject<Secret>(this.#client, SECRETS, name, namespace);
  }
}
