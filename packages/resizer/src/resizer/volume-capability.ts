// The volume_capability sent with ControllerExpandVolume, built from the PV the way the Go
// resizer builds it: block or mount (fsType from the PV only, no default; the PV's mount
// options as mount flags) and the CSI access mode for the PV's access modes.

import { toCsiAccessMode } from '@csi-sidecars-ts/shared';
import type { CsiVolumeCapabilityInput, PersistentVolume } from '@csi-sidecars-ts/shared';

export function volumeCapabilityFor(pv: PersistentVolume, singleNodeMultiWriter: boolean): CsiVolumeCapabilityInput {
  const spec = pv.spec ?? {};
  const csi = spec.csi;
  if (!csi) throw new Error(`PV ${pv.metadata?.name ?? ''}: CSI volume source is missing`);
  const mode = toCsiAccessMode(spec.accessModes, singleNodeMultiWriter);
  if (spec.volumeMode === 'Block') {
    return { block: {}, access_mode: { mode } };
  }
  return {
    mount: { fs_type: csi.fsType ?? '', mount_flags: [...(spec.mountOptions ?? [])] },
    access_mode: { mode },
  };
}
