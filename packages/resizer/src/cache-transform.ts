// What the resizer keeps of cached claims and volumes: everything it reads (spec, status,
// annotations, finalizers), without metadata.managedFields and kubectl's last-applied
// annotation. Safe because the resizer writes claims and volumes only through merge patches
// computed as the difference between the cached object and its mutation (api/resizer-api.ts):
// a field missing from both never appears in a patch. Module-level so a shared informer sees one
// transform identity.
import { dropBookkeeping, type KubeObject } from '@csi-sidecars-ts/shared';

export const trimCachedClaim: <T extends KubeObject>(obj: KubeObject) => T = dropBookkeeping;
export const trimCachedVolume: <T extends KubeObject>(obj: KubeObject) => T = dropBookkeeping;
