// The owner of the CSIStorageCapacity objects (--capacity-ownerref-level): walking controller
// owner references up from this pod, so the objects are garbage-collected with the deployment
// that created them. Level 0 is the pod, 1 its controller (ReplicaSet, StatefulSet, DaemonSet),
// 2 the controller's controller (Deployment), and so on.

import { getObject } from '@csi-sidecars-ts/shared';
import type { KubeObject, KubeRequester, ResourceDescriptor } from '@csi-sidecars-ts/shared';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: true;
}

interface ControllerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
}

const KINDS: Record<string, ResourceDescriptor> = {
  'v1/Pod': { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  'apps/v1/ReplicaSet': { group: 'apps', version: 'v1', plural: 'replicasets', kind: 'ReplicaSet', namespaced: true },
  'apps/v1/StatefulSet': { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true },
  'apps/v1/DaemonSet': { group: 'apps', version: 'v1', plural: 'daemonsets', kind: 'DaemonSet', namespaced: true },
  'apps/v1/Deployment': { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true },
};

export async function lookupOwner(client: KubeRequester, namespace: string, podName: string, levels: number): Promise<OwnerReference> {
  let apiVersion = 'v1';
  let kind = 'Pod';
  let name = podName;
  for (let level = levels; ; level--) {
    const resource = KINDS[`${apiVersion}/${kind}`];
    if (!resource) throw new Error(`cannot look up ${apiVersion} ${kind} ${JSON.stringify(name)} in namespace ${JSON.stringify(namespace)}: unsupported owner kind`);
    const obj = await getObject<KubeObject>(client, resource, name, namespace).catch((err: unknown) => {
      throw new Error(`get ${kind} ${namespace}/${name}: ${err instanceof Error ? err.message : String(err)}`);
    });
    if (level === 0) return { apiVersion, kind, name, uid: obj.metadata?.uid ?? '', controller: true };
    const owner = (obj.metadata?.ownerReferences as ControllerRef[] | undefined)?.find((o) => o.controller);
    if (!owner) {
      throw new Error(`${apiVersion}/${kind} ${JSON.stringify(name)} in namespace ${JSON.stringify(namespace)} has no controlling owner, cannot unwind the ownership further`);
    }
    if (level === 1) return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid, controller: true };
    apiVersion = owner.apiVersion;
    kind = owner.kind;
    name = owner.name;
  }
}
