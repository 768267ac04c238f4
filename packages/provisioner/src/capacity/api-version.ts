// Which CSIStorageCapacity API the cluster serves: storage.k8s.io/v1 (Kubernetes 1.24+) or only
// v1beta1 (older clusters). Detected as Go does, by creating an object with an invalid name in
// v1: an Invalid answer means v1 is served (and nothing was created), NotFound means it is not.
// The capacity controller then reads and writes the detected version; both have the same fields.

import { CSI_STORAGE_CAPACITIES, CSI_STORAGE_CAPACITIES_V1BETA1, createObject, isInvalid, isNotFound, toKubeApiError } from '@csi-sidecars-ts/shared';
import type { KubeObject, KubeRequester, Logger, ResourceDescriptor } from '@csi-sidecars-ts/shared';

/** Not a valid object name, so a v1 server must refuse it as Invalid. */
export const INVALID_CAPACITY_NAME = '#%123-invalid-name';

/**
 * CSI_STORAGE_CAPACITIES or CSI_STORAGE_CAPACITIES_V1BETA1. Throws (Go exits) when the probe
 * object is created after all, or on any other error.
 */
export async function detectCapacityApi(client: KubeRequester, namespace: string, logger: Logger, signal?: AbortSignal): Promise<ResourceDescriptor> {
  let created: KubeObject;
  try {
    created = await createObject(client, CSI_STORAGE_CAPACITIES, { metadata: { name: INVALID_CAPACITY_NAME, namespace } }, { signal });
  } catch (err) {
    if (isInvalid(err)) {
      logger.info('Using the CSIStorageCapacity v1 API');
      return CSI_STORAGE_CAPACITIES;
    }
    if (isNotFound(err)) {
      // The namespace itself missing is also NotFound; v1beta1 would not help then.
      const details = toKubeApiError(err)?.status?.details;
      if (details?.kind === 'namespaces') {
        throw new Error(`checking the CSIStorageCapacity API: namespace ${JSON.stringify(namespace)} (NAMESPACE) does not exist`, { cause: err });
      }
      logger.info('Using the CSIStorageCapacity v1beta1 API');
      return CSI_STORAGE_CAPACITIES_V1BETA1;
    }
    const text = err instanceof Error ? err.message : String(err);
    throw new Error(`unexpected error when checking for the v1 CSIStorageCapacity API: ${text}`, { cause: err });
  }
  throw new Error(`creating an invalid v1 CSIStorageCapacity (name ${JSON.stringify(INVALID_CAPACITY_NAME)}) did not fail as expected; got ${JSON.stringify(created.metadata)}`);
}
