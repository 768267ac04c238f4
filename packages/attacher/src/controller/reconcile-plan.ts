// The ListVolumes reconciler's decision, as a pure function: which of our VolumeAttachments
// disagree with what the driver reports as published. Such a VA is processed once more by the
// normal worker even if its status says there is nothing to do: a volume detached behind our
// back is published again, a deleted VA still published is unpublished again. The reconciler
// itself writes nothing.

import type { VolumeAttachment } from '@csi-sidecars-ts/shared';
import type { MigrationTranslator } from '@csi-sidecars-ts/shared';
import type { CsiVolume } from './volume-source.js';

export interface ReconcileInputs {
  driver: string;
  /** Node ID with the VA-annotation fallback; throws when unknown. */
  nodeIdOf: (va: VolumeAttachment) => string;
  /** The CSI view of the VA's volume; throws when it cannot be resolved. */
  volumeOf: (va: VolumeAttachment) => CsiVolume;
  translator: MigrationTranslator;
}

export interface ReconcileMismatch {
  name: string;
  /** The version of the VA the verdict is about: once the VA has changed, the verdict is stale. */
  resourceVersion: string | undefined;
  volumeHandle: string;
  attached: boolean;
  published: boolean;
}

export interface ReconcilePlan {
  mismatched: ReconcileMismatch[];
  /** VAs that could not be checked (logged, left alone). */
  skipped: { name: string; error: unknown }[];
}

export function planReconcile(vas: readonly VolumeAttachment[], published: ReadonlyMap<string, readonly string[]>, inputs: ReconcileInputs): ReconcilePlan {
  const plan: ReconcilePlan = { mismatched: [], skipped: [] };
  for (const va of vas) {
    // Other drivers' VAs are none of our business (and logging them was pure noise).
    if (va.spec?.attacher !== inputs.driver) continue;
    const name = va.metadata?.name ?? '';
    try {
      const nodeId = inputs.nodeIdOf(va);
      const volume = inputs.volumeOf(va);
      let handle = volume.csi.volumeHandle;
      // Migrated volumes may be listed under a handle completed with the node's project/zone.
      const migratedSource = volume.migrated || va.spec?.source?.inlineVolumeSpec !== undefined;
      if (migratedSource && inputs.translator.isMigratedCsiDriver(volume.csi.driver)) {
        handle = inputs.translator.repairVolumeHandle(volume.csi.driver, handle, nodeId);
      }
      const isPublished = published.get(handle)?.includes(nodeId) ?? false;
      const attached = va.status?.attached ?? false;
      if (isPublished !== attached) {
        plan.mismatched.push({ name, resourceVersion: va.metadata?.resourceVersion, volumeHandle: handle, attached, published: isPublished });
      }
    } catch (error) {
      plan.skipped.push({ name, error });
    }
  }
  return plan;
}
