// CSI migration: an in-tree PV (awsElasticBlockStore, cinder, ...) expanded by the CSI driver
// that replaced its plugin. The resizer needs the CSI volume handle, fsType and secrets of such
// a PV; csi-translation-lib derives them from the in-tree source. We translate the sources
// whose volume handle is a plain function of the in-tree fields; the others (GCE PD, Azure File,
// vSphere) need cluster lookups and fail with a clear error instead of a wrong handle.

import type { PersistentVolume } from '@csi-sidecars-ts/shared';

type CsiSource = NonNullable<NonNullable<PersistentVolume['spec']>['csi']>;

export class InTreeTranslationError extends Error {
  override readonly name = 'InTreeTranslationError';
}

function ebsVolumeId(kubernetesId: string): string {
  if (!kubernetesId.startsWith('aws://')) return kubernetesId;
  const id = kubernetesId.slice('aws://'.length).split('/').slice(1).join('/').replace(/^\/+|\/+$/g, '');
  if (!/^vol-[^/]*$/.test(id)) throw new InTreeTranslationError(`Invalid format for AWS volume (${kubernetesId})`);
  return id;
}

/** The PV with its in-tree source replaced by the CSI source of `driverName`, or an error. */
export function translateInTreeVolume(pv: PersistentVolume, driverName: string): PersistentVolume {
  const spec = pv.spec ?? {};
  let csi: CsiSource | undefined;
  if (spec.awsElasticBlockStore && driverName === 'ebs.csi.aws.com') {
    const s = spec.awsElasticBlockStore;
    csi = { driver: driverName, volumeHandle: ebsVolumeId(s.volumeID), fsType: s.fsType, readOnly: s.readOnly };
  } else if (spec.cinder && driverName === 'cinder.csi.openstack.org') {
    const s = spec.cinder;
    csi = { driver: driverName, volumeHandle: s.volumeID, fsType: s.fsType, readOnly: s.readOnly };
  } else if (spec.portworxVolume && driverName === 'pxd.portworx.com') {
    const s = spec.portworxVolume;
    csi = { driver: driverName, volumeHandle: s.volumeID, fsType: s.fsType, readOnly: s.readOnly };
  } else if (spec.azureDisk && driverName === 'disk.csi.azure.com') {
    const s = spec.azureDisk;
    csi = { driver: driverName, volumeHandle: s.diskURI, fsType: s.fsType, readOnly: s.readOnly };
  }
  if (!csi) {
    throw new InTreeTranslationError(
      `volume ${pv.metadata?.name ?? ''} is not migrated to CSI: no translation of its in-tree source to driver ${driverName} is available`,
    );
  }
  for (const k of Object.keys(csi) as (keyof CsiSource)[]) if (csi[k] === undefined) delete csi[k];
  const translated = structuredClone(pv);
  translated.spec = { ...spec, csi };
  delete translated.spec.awsElasticBlockStore;
  delete translated.spec.cinder;
  delete translated.spec.portworxVolume;
  delete translated.spec.azureDisk;
  return translated;
}
