// The Gateway API's ReferenceGrant (gateway.networking.k8s.io/v1beta1), reduced to what
// csi-provisioner reads: who may refer (`from`: group, kind, namespace) to what (`to`: group,
// kind, optional name) in the grant's own namespace. Written for the harness (the Gateway API
// project's CRD has more validation and versions); installed and removed by the specs that need
// it, so that the others see a cluster without the Gateway API, as most clusters are.
import type { V1CustomResourceDefinition } from '@kubernetes/client-node';
import { statusCode, type Kube } from './kube.js';
import { waitFor } from './wait.js';

export const REFERENCE_GRANT_GROUP = 'gateway.networking.k8s.io';
export const REFERENCE_GRANT_VERSION = 'v1beta1';
export const REFERENCE_GRANT_PLURAL = 'referencegrants';
export const REFERENCE_GRANT_CRD_NAME = `${REFERENCE_GRANT_PLURAL}.${REFERENCE_GRANT_GROUP}`;

const name = { type: 'string', minLength: 1, maxLength: 253 };
const shortName = { type: 'string', minLength: 1, maxLength: 63 };
/** '' is the core group, so it may be empty but must be given. */
const group = { type: 'string', maxLength: 253 };

export function referenceGrantCrd(): V1CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    // *.k8s.io groups are protected: the apiserver wants an approval link, or 'unapproved…'.
    metadata: { name: REFERENCE_GRANT_CRD_NAME, annotations: { 'api-approved.kubernetes.io': 'unapproved, test-only copy for the csi-sidecars-ts e2e harness' } },
    spec: {
      group: REFERENCE_GRANT_GROUP,
      scope: 'Namespaced',
      names: { kind: 'ReferenceGrant', listKind: 'ReferenceGrantList', plural: REFERENCE_GRANT_PLURAL, singular: 'referencegrant', shortNames: ['refgrant'] },
      versions: [
        {
          name: REFERENCE_GRANT_VERSION,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: {
                  type: 'object',
                  required: ['from', 'to'],
                  properties: {
                    from: {
                      type: 'array',
                      minItems: 1,
                      maxItems: 16,
                      items: { type: 'object', required: ['group', 'kind', 'namespace'], properties: { group, kind: shortName, namespace: shortName } },
                    },
                    to: {
                      type: 'array',
                      minItems: 1,
                      maxItems: 16,
                      items: { type: 'object', required: ['group', 'kind'], properties: { group, kind: shortName, name } },
                    },
                  },
                },
              },
            },
          },
        },
      ],
    },
  };
}

/** Creates the CRD (if missing) and waits until the API serves it. */
export async function installReferenceGrantCrd(kube: Kube): Promise<void> {
  try {
    await kube.apiext.createCustomResourceDefinition({ body: referenceGrantCrd() });
  } catch (err) {
    if (statusCode(err) !== 409) throw err;
  }
  await waitFor('ReferenceGrant CRD established', async () => {
    const crd = await kube.apiext.readCustomResourceDefinition({ name: REFERENCE_GRANT_CRD_NAME });
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
  });
}

/** Deletes the CRD (and with it every ReferenceGrant) and waits until it is gone. */
export async function removeReferenceGrantCrd(kube: Kube, timeoutMs = 30_000): Promise<void> {
  try {
    await kube.apiext.deleteCustomResourceDefinition({ name: REFERENCE_GRANT_CRD_NAME });
  } catch (err) {
    if (statusCode(err) !== 404) throw err;
  }
  await waitFor(
    'ReferenceGrant CRD removed',
    async () => {
      try {
        await kube.apiext.readCustomResourceDefinition({ name: REFERENCE_GRANT_CRD_NAME });
        return false;
      } catch (err) {
        if (statusCode(err) === 404) return true;
        throw err;
      }
    },
    { timeoutMs },
  );
}
