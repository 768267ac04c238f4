// ReferenceGrants (gateway.networking.k8s.io/v1beta1) for cross-namespace data sources: with the
// CrossNamespaceVolumeDataSource gate the provisioner keeps them in an informer (as Go does, no
// handlers: a refused claim is retried by its own backoff and then sees the new grant).
//
// As in Go, the controllers start only once this cache has synced. When the Gateway API CRD is
// not installed (or we may not list it) the list keeps failing and nothing is provisioned until
// that is fixed; the reflector retries with backoff, so installing the CRD later is enough.
// Go says nothing but the reflector's list errors; we say once, plainly, what is wrong.

import { NAMESPACE_INDEX, REFERENCE_GRANTS, isForbidden, isNotFound, resourcePath } from '@csi-sidecars-ts/shared';
import type { Informer, InformerFactory, KubeRequester, Logger } from '@csi-sidecars-ts/shared';
import type { ReferenceGrant } from './data-source.js';

/** The ReferenceGrant informer (all namespaces) and a lookup by namespace for ProvisionerDeps.referenceGrants. */
export function referenceGrantInformer(factory: InformerFactory): { informer: Informer<ReferenceGrant>; inNamespace: (namespace: string) => readonly ReferenceGrant[] } {
  const informer = factory.informerFor<ReferenceGrant>(REFERENCE_GRANTS);
  return { informer, inNamespace: (namespace) => informer.store.byIndex(NAMESPACE_INDEX, namespace) };
}

/**
 * One list call to explain a ReferenceGrant cache that will not sync. Never throws; returns
 * whether the list worked.
 */
export async function checkReferenceGrantsListable(kube: KubeRequester, logger: Logger, signal?: AbortSignal): Promise<boolean> {
  const what = 'gateway.networking.k8s.io/v1beta1 referencegrants';
  try {
    await kube.request({ method: 'GET', path: resourcePath(REFERENCE_GRANTS), query: { limit: 1 }, signal });
    return true;
  } catch (err) {
    const detail = { err: err instanceof Error ? err.message : String(err) };
    if (isNotFound(err)) {
      logger.error(
        `CrossNamespaceVolumeDataSource is enabled but the API server does not serve ${what}: install the Gateway API ReferenceGrant CRD. ` +
          'Until it is served the ReferenceGrant cache cannot sync and, as with the Go provisioner, no controller starts',
        undefined,
        detail,
      );
    } else if (isForbidden(err)) {
      logger.error(
        `CrossNamespaceVolumeDataSource is enabled but this service account may not list ${what}: grant get, list and watch on them. ` +
          'Until then the ReferenceGrant cache cannot sync and, as with the Go provisioner, no controller starts',
        undefined,
        detail,
      );
    } else {
      logger.warn(`Cannot list ${what} (the informer keeps retrying)`, detail);
    }
    return false;
  }
}
