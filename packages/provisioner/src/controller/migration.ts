// CSI migration as the provisioner sees it: when our driver is the CSI replacement of an in-tree
// plugin (kubernetes.io/gce-pd → pd.csi.storage.gke.io, ...), claims of StorageClasses naming
// the in-tree plugin are ours too. Their StorageClass is translated to what the driver takes,
// the PV we build is translated back to the in-tree source, and in-tree PVs are translated to
// CSI to be deleted. The translations themselves live in the shared migration translator.

import { MigrationError, createMigrationTranslator } from '@csi-sidecars-ts/shared';
import type { MigrationTranslator, PersistentVolume, StorageClass } from '@csi-sidecars-ts/shared';

/** The in-tree plugin our driver replaces, or undefined when it replaces none. */
export function inTreePluginFor(driverName: string, translator: MigrationTranslator): string | undefined {
  return translator.isMigratedCsiDriver(driverName) ? translator.inTreePluginNameOf(driverName) : undefined;
}

/** The names claims, StorageClasses and PVs may carry for us: the driver and its in-tree plugin. */
export function knownProvisionerNames(driverName: string, inTreePlugin: string | undefined): Set<string> {
  return new Set(inTreePlugin ? [driverName, inTreePlugin] : [driverName]);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The StorageClass CreateVolume is built from: translated to CSI when it names the in-tree
 * plugin we replace (`migrated`), else the class itself. Throws with Go's wording.
 */
export function storageClassForCsi(
  sc: StorageClass,
  inTreePlugin: string | undefined,
  translator: MigrationTranslator,
): { storageClass: StorageClass; migrated: boolean } {
  if (inTreePlugin === undefined || sc.provisioner !== inTreePlugin) return { storageClass: sc, migrated: false };
  try {
    return { storageClass: translator.translateInTreeStorageClassToCsi(inTreePlugin, sc), migrated: true };
  } catch (err) {
    throw new MigrationError(`failed to translate storage class: ${errorText(err)}`, { cause: err });
  }
}

/**
 * The PV as the driver knows it: migratable in-tree PVs are translated to CSI (`migrated`),
 * whatever driver we are (as Go does); anything else is returned as it is.
 */
export function csiViewOfVolume(pv: PersistentVolume, translator: MigrationTranslator): { pv: PersistentVolume; migrated: boolean } {
  if (!translator.isPvMigratable(pv)) return { pv, migrated: false };
  return { pv: translator.translateInTreePvToCsi(pv), migrated: true };
}

/**
 * The CSI volume handle a PV describes: its own, or that of its CSI translation for an in-tree
 * PV; undefined when it has neither or cannot be translated. Some translations are lossy (a GCE
 * PD handle's project), so two PVs are best compared by their handles, not a PV with a raw id.
 */
export function volumeHandleOf(pv: PersistentVolume, translator: MigrationTranslator = createMigrationTranslator()): string | undefined {
  if (pv.spec?.csi) return pv.spec.csi.volumeHandle;
  if (!translator.isPvMigratable(pv)) return undefined;
  try {
    return translator.translateInTreePvToCsi(pv).spec?.csi?.volumeHandle;
  } catch {
    return undefined;
  }
}

/** The CSI driver a PV belongs to: its CSI source's, or that of its in-tree plugin's replacement. */
export function volumeDriverOf(pv: PersistentVolume, translator: MigrationTranslator = createMigrationTranslator()): string | undefined {
  if (pv.spec?.csi) return pv.spec.csi.driver;
  if (!translator.isPvMigratable(pv)) return undefined;
  try {
    return translator.translateInTreePvToCsi(pv).spec?.csi?.driver;
  } catch {
    return undefined;
  }
}

/**
 * Whether an existing PV describes the volume `volumeId` of our driver, made for the claim
 * `claimUid`. A CSI PV must carry exactly that handle. An in-tree PV (CSI migration) cannot
 * always be compared so (its translation may not give back the driver's handle), so the PV of
 * that very claim — same name, hence the same CreateVolume name — is taken as describing it:
 * deleting a volume a PV still describes is the one mistake that loses data.
 */
export function pvDescribesVolume(
  pv: PersistentVolume,
  volume: { driverName: string; volumeId: string; claimUid: string },
  translator: MigrationTranslator = createMigrationTranslator(),
): boolean {
  if (volumeDriverOf(pv, translator) !== volume.driverName) return false;
  if (volumeHandleOf(pv, translator) === volume.volumeId) return true;
  return !pv.spec?.csi && volume.claimUid !== '' && pv.spec?.claimRef?.uid === volume.claimUid;
}
