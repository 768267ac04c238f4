// Where a VolumeAttachment's volume is described: a PersistentVolume by name, or an inline PV
// spec (kube-controller-manager puts one there for CSI-migrated in-tree inline volumes). Pure
// functions; the PV itself comes from the informer cache.

import type { PersistentVolume, VolumeAttachment } from '@csi-sidecars-ts/shared';
import type { MigrationTranslator } from '@csi-sidecars-ts/shared';

export type PvSpec = NonNullable<PersistentVolume['spec']>;
export type CsiSource = NonNullable<PvSpec['csi']>;

/** A VolumeAttachment or its volume cannot be processed as it stands; saved on the VA and retried. */
export class VolumeSourceError extends Error {
  override readonly name = 'VolumeSourceError';
}

export type VaSource = { kind: 'pv'; pvName: string } | { kind: 'inline'; spec: PvSpec };

/** Exactly one of persistentVolumeName / inlineVolumeSpec; an inline spec must be a CSI one. */
export function vaSourceOf(va: VolumeAttachment): VaSource {
  const source = va.spec?.source;
  const pvName = source?.persistentVolumeName;
  const inline = source?.inlineVolumeSpec;
  if (pvName !== undefined && pvName !== null) {
    if (inline) throw new VolumeSourceError('both InlineCSIVolumeSource and PersistentVolumeName specified in VA source');
    return { kind: 'pv', pvName };
  }
  if (inline) {
    if (!inline.csi) throw new VolumeSourceError('inline volume spec contains nil CSI source');
    return { kind: 'inline', spec: inline };
  }
  throw new VolumeSourceError('neither InlineCSIVolumeSource nor PersistentVolumeName specified in VA source');
}

/** The lister's answer for a PV missing from the cache (the same text as Go's). */
export function pvNotFound(name: string): VolumeSourceError {
  return new VolumeSourceError(`persistentvolume "${name}" not found`);
}

export interface CsiVolume {
  /** The PV spec as the driver sees it (translated for migrated in-tree PVs). */
  readonly spec: PvSpec;
  readonly csi: CsiSource;
  /** True when an in-tree PV was translated (the `migrated` metrics label). */
  readonly migrated: boolean;
}

/** The CSI view of a PV: translated when it is a migratable in-tree PV. */
export function csiVolumeOfPv(pv: PersistentVolume, translator: MigrationTranslator): CsiVolume {
  let spec = pv.spec;
  let migrated = false;
  if (translator.isPvMigratable(pv)) {
    try {
      spec = translator.translateInTreePvToCsi(pv).spec;
    } catch (err) {
      throw new VolumeSourceError(`failed to translate in tree pv to CSI: ${(err as Error).message}`, { cause: err });
    }
    migrated = true;
  }
  if (!spec) throw new VolumeSourceError(`PersistentVolume "${pv.metadata?.name ?? ''}" has no spec`);
  if (!spec.csi) throw new VolumeSourceError('pv spec contained non-csi source that was not migrated');
  return { spec, csi: spec.csi, migrated };
}

/** The CSI view of an inline spec (used as it is: no PV, no finalizer, no translation). */
export function csiVolumeOfInline(spec: PvSpec): CsiVolume {
  if (!spec.csi) throw new VolumeSourceError('inline volume spec contains nil CSI source');
  return { spec, csi: spec.csi, migrated: false };
}
