// Fields the spec marks REQUIRED in responses the sidecars build Kubernetes objects from. A
// driver that answers OK without them would otherwise make us write a PV with an empty volume
// handle (the Go provisioner dereferences a nil volume and panics); we turn that into a clear,
// non-final error instead. Lists are deliberately not checked: one bad entry must not hide the
// rest of a page from a reconciler.

const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  'csi.v1.GetPluginInfoResponse': ['name'],
  'csi.v1.CreateVolumeResponse': ['volume', 'volume.volume_id'],
  'csi.v1.ControllerGetVolumeResponse': ['volume', 'volume.volume_id'],
  'csi.v1.CreateSnapshotResponse': ['snapshot', 'snapshot.snapshot_id', 'snapshot.source_volume_id'],
  'csi.v1.GetSnapshotResponse': ['snapshot', 'snapshot.snapshot_id', 'snapshot.source_volume_id'],
  'csi.v1.CreateVolumeGroupSnapshotResponse': ['group_snapshot', 'group_snapshot.group_snapshot_id'],
  'csi.v1.GetVolumeGroupSnapshotResponse': ['group_snapshot', 'group_snapshot.group_snapshot_id'],
  'csi.v1.NodeGetInfoResponse': ['node_id'],
};

function lookup(message: unknown, path: string): unknown {
  let v: unknown = message;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/**
 * The first spec violation in a decoded response of the given type (full name without the
 * leading dot), or undefined when it has every required field.
 */
export function missingRequiredField(typeFullName: string, message: unknown): string | undefined {
  const required = REQUIRED[typeFullName.replace(/^\./, '')];
  if (!required) return undefined;
  for (const path of required) {
    const v = lookup(message, path);
    if (v === undefined || v === null) return `required field "${path}" is missing`;
    if (v === '') return `required field "${path}" is empty`;
  }
  return undefined;
}
