// The Lease calls of the provisioning journal (its entries are annotations on shard Leases in
// the sidecar's namespace; see controller/journal-entry.ts). Only the verbs the Go
// provisioner's RBAC grants on leases (get, list, watch, create, update, delete): no patch.
// Behind an interface so tests can use doubles.

import { LEASES, createObject, getObject, resourcePath, updateObject } from '@csi-sidecars-ts/shared';
import type { KubeRequester, Lease } from '@csi-sidecars-ts/shared';

export interface JournalApi {
  createLease(lease: Lease, signal?: AbortSignal): Promise<Lease>;
  getLease(namespace: string, name: string, signal?: AbortSignal): Promise<Lease>;
  /** PUT, conditional on the Lease's resourceVersion (409 when someone else wrote it meanwhile). */
  updateLease(lease: Lease, signal?: AbortSignal): Promise<Lease>;
  /** One page of at most one Lease: proves list access (the informer needs it) without reading much. */
  probeList(namespace: string, labelSelector: string, signal?: AbortSignal): Promise<void>;
}

export function kubeJournalApi(client: KubeRequester): JournalApi {
  return {
    createLease: (lease, signal) => createObject<Lease>(client, LEASES, lease, { signal }),
    getLease: (namespace, name, signal) => getObject<Lease>(client, LEASES, name, namespace, { signal }),
    updateLease: (lease, signal) => updateObject<Lease>(client, LEASES, lease, { signal }),
    probeList: async (namespace, labelSelector, signal) => {
      await client.request({ method: 'GET', path: resourcePath(LEASES, { namespace }), query: { limit: 1, labelSelector }, signal });
    },
  };
}
