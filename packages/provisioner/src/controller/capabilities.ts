// CreateVolume's volume_capabilities: one entry per access mode of the claim, each mode mapped
// on its own (the provisioner, unlike attacher and resizer, never maps the list as a whole).

import { toCsiAccessMode } from '@csi-sidecars-ts/shared';
import type { CsiVolumeCapabilityInput, PersistentVolumeClaim } from '@csi-sidecars-ts/shared';

export function isBlockClaim(claim: PersistentVolumeClaim): boolean {
  return claim.spec?.volumeMode === 'Block';
}

/**
 * Block claims get `block{}`, others `mount{fs_type, mount_flags}` with the StorageClass mount
 * options. Throws for an unknown access mode.
 */
export function volumeCapabilities(
  claim: PersistentVolumeClaim,
  fsType: string,
  mountOptions: readonly string[] | undefined,
  supportsSingleNodeMultiWriter: boolean,
): CsiVolumeCapabilityInput[] {
  const block = isBlockClaim(claim);
  return (claim.spec?.accessModes ?? []).map((mode) => {
    const access_mode = { mode: toCsiAccessMode([mode], supportsSingleNodeMultiWriter) };
    return block ? { block: {}, access_mode } : { mount: { fs_type: fsType, mount_flags: [...(mountOptions ?? [])] }, access_mode };
  });
}
