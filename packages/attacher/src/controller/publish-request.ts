// The ControllerPublishVolume / ControllerUnpublishVolume requests built from a volume's PV
// spec, the node ID and the driver's capabilities.

import { toCsiAccessMode } from '@csi-sidecars-ts/shared';
import type { ControllerPublishVolumeRequest, ControllerUnpublishVolumeRequest, CsiVolumeCapabilityInput } from '@csi-sidecars-ts/shared';
import type { CsiVolume, PvSpec } from './volume-source.js';

export interface PublishCapabilities {
  /** PUBLISH_READONLY: without it the CO must send readonly=false. */
  readonly publishReadonly: boolean;
  /** SINGLE_NODE_MULTI_WRITER: RWO/RWOP map to the finer single-node modes. */
  readonly singleNodeMultiWriter: boolean;
}

/**
 * Block for volumeMode Block, otherwise mount with the PV's fsType (or --default-fstype) and its
 * mount options; the access mode from the PV's access modes. Throws on an access-mode mix CSI
 * cannot express (e.g. RWO+ROX).
 */
export function volumeCapabilityOf(spec: PvSpec, singleNodeMultiWriter: boolean, defaultFsType: string): CsiVolumeCapabilityInput {
  const mode = toCsiAccessMode(spec.accessModes, singleNodeMultiWriter);
  if (spec.volumeMode === 'Block') return { block: {}, access_mode: { mode } };
  const fsType = spec.csi?.fsType || defaultFsType;
  return { mount: { fs_type: fsType, mount_flags: [...(spec.mountOptions ?? [])] }, access_mode: { mode } };
}

export function publishRequestOf(
  volume: CsiVolume,
  nodeId: string,
  secrets: Record<string, string>,
  caps: PublishCapabilities,
  defaultFsType: string,
): ControllerPublishVolumeRequest {
  return {
    volume_id: volume.csi.volumeHandle,
    node_id: nodeId,
    volume_capability: volumeCapabilityOf(volume.spec, caps.singleNodeMultiWriter, defaultFsType),
    // "CO MUST set this field to false if SP does not have the PUBLISH_READONLY capability."
    readonly: caps.publishReadonly ? (volume.csi.readOnly ?? false) : false,
    volume_context: { ...(volume.csi.volumeAttributes ?? {}) },
    secrets,
  };
}

export function unpublishRequestOf(volume: CsiVolume, nodeId: string, secrets: Record<string, string>): ControllerUnpublishVolumeRequest {
  return { volume_id: volume.csi.volumeHandle, node_id: nodeId, secrets };
}
