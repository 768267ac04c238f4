// Every Kubernetes API call the attacher makes, on the raw JSON request path (explicit patch
// content types, the status subresource). A conditional write that loses a race (409, or 422
// from a failed JSON-patch `test`) is retried against a fresh GET, a few times, before the error
// goes back to the work queue's backoff.

import type { JsonPatchOp, KubeRequester, PersistentVolume, Secret, VolumeAttachment } from '@csi-sidecars-ts/shared';
import { PERSISTENT_VOLUMES, SECRETS, VOLUME_ATTACHMENTS, getObject, isConflict, isInvalid, isNotFound, patchObject } from '@csi-sidecars-ts/shared';
import { addFinalizerPatch, removeFinalizerPatch, vaAttachMetadataPatch } from '../controller/patches.js';

/** Attempts of one conditional write (the first one with the cached object, then fresh reads). */
const CONDITIONAL_WRITE_ATTEMPTS = 3;

export interface AttacherApi {
  /** Adds the finalizer to the PV unless present; returns the PV as stored. */
  addPvFinalizer(pv: PersistentVolume, finalizer: string): Promise<PersistentVolume>;
  /** Removes the finalizer from the PV if present. */
  removePvFinalizer(pv: PersistentVolume, finalizer: string): Promise<void>;
  /** Adds the finalizer and sets the node-id annotation in one patch, when either is missing. */
  ensureVaAttachMetadata(va: VolumeAttachment, finalizer: string, nodeId: string): Promise<VolumeAttachment>;
  /** Removes the finalizer from the VA; undefined when the VA is gone (deleted by the removal). */
  removeVaFinalizer(va: VolumeAttachment, finalizer: string): Promise<VolumeAttachment | undefined>;
  /** Merge patch on the VA's status subresource. */
  patchVaStatus(name: string, patch: Record<string, unknown>): Promise<VolumeAttachment>;
  /** A Secret's data, values decoded to strings. */
  getSecretData(namespace: string, name: string): Promise<Record<string, string>>;
}

/** A conditional write lost against a concurrent change: worth a re-read. */
function lostRace(err: unknown): boolean {
  return isConflict(err) || isInvalid(err);
}

function nameOf(obj: { metadata?: { name?: string } }): string {
  const name = obj.metadata?.name;
  if (!name) throw new Error('object without metadata.name');
  return name;
}

export class KubeAttacherApi implements AttacherApi {
  readonly #client: KubeRequester;

  constructor(client: KubeRequester) {
    this.#client = client;
  }

  async addPvFinalizer(pv: PersistentVolume, finalizer: string): Promise<PersistentVolume> {
    const name = nameOf(pv);
    return this.#conditional(pv, (p) => {
      if (p.metadata?.finalizers?.includes(finalizer)) return undefined;
      // The API server refuses new finalizers on an object being deleted; say why instead.
      if (p.metadata?.deletionTimestamp) throw new Error(`PersistentVolume "${name}" is marked for deletion`);
      return addFinalizerPatch(p.metadata?.finalizers, finalizer);
    }, {
      get: () => getObject<PersistentVolume>(this.#client, PERSISTENT_VOLUMES, name),
      write: (ops) => patchObject<PersistentVolume>(this.#client, PERSISTENT_VOLUMES, name, undefined, ops, 'json'),
    });
  }

  async removePvFinalizer(pv: PersistentVolume, finalizer: string): Promise<void> {
    const name = nameOf(pv);
    try {
      await this.#conditional(pv, (p) => removeFinalizerPatch(p.metadata?.finalizers, finalizer), {
        get: () => getObject<PersistentVolume>(this.#client, PERSISTENT_VOLUMES, name),
        write: (ops) => patchObject<PersistentVolume>(this.#client, PERSISTENT_VOLUMES, name, undefined, ops, 'json'),
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async ensureVaAttachMetadata(va: VolumeAttachment, finalizer: string, nodeId: string): Promise<VolumeAttachment> {
    const name = nameOf(va);
    return this.#conditional(va, (v) => {
      if (v.metadata?.deletionTimestamp && !v.metadata.finalizers?.includes(finalizer)) {
        throw new Error(`VolumeAttachment "${name}" is being deleted`);
      }
      return vaAttachMetadataPatch(v, finalizer, nodeId);
    }, {
      get: () => getObject<VolumeAttachment>(this.#client, VOLUME_ATTACHMENTS, name),
      write: (patch) => patchObject<VolumeAttachment>(this.#client, VOLUME_ATTACHMENTS, name, undefined, patch, 'merge'),
    });
  }

  async removeVaFinalizer(va: VolumeAttachment, finalizer: string): Promise<VolumeAttachment | undefined> {
    const name = nameOf(va);
    try {
      return await this.#conditional(va, (v) => removeFinalizerPatch(v.metadata?.finalizers, finalizer), {
        get: () => getObject<VolumeAttachment>(this.#client, VOLUME_ATTACHMENTS, name),
        write: (ops) => patchObject<VolumeAttachment>(this.#client, VOLUME_ATTACHMENTS, name, undefined, ops, 'json'),
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  patchVaStatus(name: string, patch: Record<string, unknown>): Promise<VolumeAttachment> {
    return patchObject<VolumeAttachment>(this.#client, VOLUME_ATTACHMENTS, name, undefined, patch, 'merge', { subresource: 'status' });
  }

  async getSecretData(namespace: string, name: string): Promise<Record<string, string>> {
    const secret = await getObject<Secret>(this.#client, SECRETS, name, namespace);
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(secret.data ?? {})) {
      // Secret data travels base64-encoded; the driver gets the bytes as a string, as in Go.
      out[key] = Buffer.from(String(value), 'base64').toString('utf8');
    }
    return out;
  }

  /**
   * Writes the patch `build` computes from the object we have; when the write loses a race,
   * reads the object again and retries. No patch needed: returns the object as it is.
   */
  async #conditional<T, P>(
    start: T,
    build: (obj: T) => P | undefined,
    io: { get: () => Promise<T>; write: (patch: P) => Promise<T> },
  ): Promise<T> {
    let current = start;
    for (let attempt = 1; ; attempt++) {
      const patch = build(current);
      if (patch === undefined) return current;
      try {
        return await io.write(patch);
      } catch (err) {
        if (!lostRace(err) || attempt >= CONDITIONAL_WRITE_ATTEMPTS) throw err;
      }
      current = await io.get();
    }
  }
}
