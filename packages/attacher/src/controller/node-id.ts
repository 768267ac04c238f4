// The CSI node ID of a VolumeAttachment's node. Attach reads it only from CSINode (the driver's
// node plugin registered it there); detach may fall back to the ID the attacher wrote on the VA
// at attach time, so a volume can be detached after its Node (and CSINode) is gone.

import type { CSINode, VolumeAttachment } from '@csi-sidecars-ts/shared';
import { VA_NODE_ID_ANNOTATION } from './names.js';

export class NodeIdError extends Error {
  override readonly name = 'NodeIdError';
}

export function nodeIdFromCsiNode(csiNode: CSINode, driver: string): string | undefined {
  return csiNode.spec?.drivers?.find((d) => d.name === driver)?.nodeID;
}

/**
 * From CSINode `nodeName`; with `va`, falls back to its node-id annotation when the CSINode is
 * missing or lacks the driver. Throws a NodeIdError saying which lookup failed.
 */
export function resolveNodeId(driver: string, nodeName: string, csiNode: CSINode | undefined, va?: VolumeAttachment): string {
  let problem: string;
  if (csiNode) {
    const id = nodeIdFromCsiNode(csiNode, driver);
    if (id !== undefined) return id;
    problem = `CSINode ${nodeName} does not contain driver ${driver}`;
  } else {
    problem = `csinode.storage.k8s.io "${nodeName}" not found`;
  }
  const annotated = va?.metadata?.annotations?.[VA_NODE_ID_ANNOTATION];
  if (annotated !== undefined) return annotated;
  throw new NodeIdError(problem);
}
