// What the provisioner keeps of cached objects: everything but metadata.managedFields, which
// nothing here reads and which is often the largest part of a PVC or PV (external-provisioner
// #587: memory grows with every cached claim). Safe for updates built from cached claims: an
// update without managedFields leaves the server's managedFields as they are. (Annotations such
// as kubectl's last-applied configuration must stay: a PUT without them would remove them, so
// the shared dropBookkeeping transform is not for the provisioner's claims.)

import { dropManagedFields, type KubeObject } from '@csi-sidecars-ts/shared';

export function trimCachedObject<T extends KubeObject>(obj: KubeObject): T {
  return dropManagedFields<T>(obj);
}
