// Kubernetes access modes → the CSI access mode, the way csi-lib-utils maps them for the
// attacher and resizer (the whole list at once) and the provisioner (each mode on its own).

export type K8sAccessMode = 'ReadWriteOnce' | 'ReadOnlyMany' | 'ReadWriteMany' | 'ReadWriteOncePod';

export type CsiAccessMode =
  | 'SINGLE_NODE_WRITER'
  | 'SINGLE_NODE_READER_ONLY'
  | 'MULTI_NODE_READER_ONLY'
  | 'MULTI_NODE_SINGLE_WRITER'
  | 'MULTI_NODE_MULTI_WRITER'
  | 'SINGLE_NODE_SINGLE_WRITER'
  | 'SINGLE_NODE_MULTI_WRITER';

export class AccessModeError extends Error {
  override readonly name = 'AccessModeError';
}

/**
 * The single CSI access mode for a PV's whole list of access modes. With the driver's
 * SINGLE_NODE_MULTI_WRITER capability, RWO and RWOP map to the finer single-node modes.
 */
export function toCsiAccessMode(modes: readonly string[] | undefined, supportsSingleNodeMultiWriter: boolean): CsiAccessMode {
  const set = new Set(modes ?? []);
  const unsupported = () => new AccessModeError(`unsupported AccessMode combination: ${[...(modes ?? [])].join(', ') || '(none)'}`);
  for (const m of set) {
    if (!['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'].includes(m)) throw unsupported();
  }
  if (set.has('ReadWriteOncePod')) {
    if (set.size > 1) throw unsupported();
    return supportsSingleNodeMultiWriter ? 'SINGLE_NODE_SINGLE_WRITER' : 'SINGLE_NODE_WRITER';
  }
  if (set.has('ReadWriteMany')) return 'MULTI_NODE_MULTI_WRITER';
  if (set.has('ReadOnlyMany') && set.has('ReadWriteOnce')) throw unsupported();
  if (set.has('ReadOnlyMany')) return 'MULTI_NODE_READER_ONLY';
  if (set.has('ReadWriteOnce')) return supportsSingleNodeMultiWriter ? 'SINGLE_NODE_MULTI_WRITER' : 'SINGLE_NODE_WRITER';
  throw unsupported();
}
