// Which claims this provisioner works on, decided from cached objects only. The claim
// controller asks for every claim event; everything that is not ours ends here quietly.

import type { PersistentVolumeClaim, StorageClass } from '@csi-sidecars-ts/shared';
import {
  ANN_ALPHA_SELECTED_NODE,
  ANN_BETA_STORAGE_CLASS,
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_MIGRATED_TO,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
} from './constants.js';

/** The class a claim asks for: the beta annotation wins over spec.storageClassName (as in Kubernetes). */
export function claimStorageClassName(claim: PersistentVolumeClaim): string {
  const ann = claim.metadata?.annotations?.[ANN_BETA_STORAGE_CLASS];
  if (ann !== undefined) return ann;
  return claim.spec?.storageClassName ?? '';
}

/** `volume.kubernetes.io/selected-node`, or the old alpha key. */
export function selectedNodeOf(claim: PersistentVolumeClaim): string {
  const a = claim.metadata?.annotations;
  return a?.[ANN_SELECTED_NODE] ?? a?.[ANN_ALPHA_SELECTED_NODE] ?? '';
}

/** The provisioner kube-controller-manager assigned: the GA key, else the beta one. */
export function claimProvisioner(claim: PersistentVolumeClaim): string | undefined {
  const a = claim.metadata?.annotations;
  return a?.[ANN_STORAGE_PROVISIONER] ?? a?.[ANN_BETA_STORAGE_PROVISIONER];
}

export type ClaimDecision =
  /** Not ours, or nothing to do: no event, no retry. */
  | { readonly action: 'skip'; readonly reason: string }
  /** Ours but not possible right now (e.g. its StorageClass is missing): retry with backoff. */
  | { readonly action: 'retry'; readonly reason: string }
  | { readonly action: 'provision'; readonly storageClass: StorageClass; readonly selectedNode: string };

export interface ClaimDecisionInput {
  claim: PersistentVolumeClaim;
  driverName: string;
  /** The driver name plus, with CSI migration, the in-tree plugin name. */
  knownProvisioners: ReadonlySet<string>;
  storageClass: (name: string) => StorageClass | undefined;
}

export function decideClaim({ claim, driverName, knownProvisioners, storageClass }: ClaimDecisionInput): ClaimDecision {
  if (claim.spec?.volumeName) return { action: 'skip', reason: 'claim is already bound to a volume' };
  const provisioner = claimProvisioner(claim);
  const migratedTo = claim.metadata?.annotations?.[ANN_MIGRATED_TO];
  if (provisioner !== driverName && migratedTo !== driverName) return { action: 'skip', reason: 'claim is for another provisioner' };
  if (provisioner === undefined || !knownProvisioners.has(provisioner)) return { action: 'skip', reason: 'claim is not annotated for this provisioner' };
  const className = claimStorageClassName(claim);
  const sc = storageClass(className);
  if (!sc) return { action: 'retry', reason: `storageClass ${JSON.stringify(className)} not found` };
  const selectedNode = selectedNodeOf(claim);
  if (sc.volumeBindingMode === 'WaitForFirstConsumer' && selectedNode === '') {
    return { action: 'skip', reason: 'waiting for a consumer: no node selected yet' };
  }
  if (!knownProvisioners.has(sc.provisioner)) return { action: 'skip', reason: `StorageClass ${className} names another provisioner (${sc.provisioner})` };
  return { action: 'provision', storageClass: sc, selectedNode };
}
