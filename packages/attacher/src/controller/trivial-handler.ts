// The handler for drivers without CONTROLLER_SERVICE or PUBLISH_UNPUBLISH_VOLUME: there is
// nothing to publish, so every VolumeAttachment is simply marked attached. No finalizers (a
// deleted VA goes away at once), no CSI calls, no PV writes, no reconciler.

import type { Logger, PersistentVolume, VolumeAttachment } from '@csi-sidecars-ts/shared';
import type { AttacherApi } from '../adapters/attacher-api.js';
import type { AttacherMetrics } from './attacher-metrics.js';
import type { AttachHandler, SyncResult } from './handler.js';
import { attachedStatusPatch } from './patches.js';

export class TrivialAttachHandler implements AttachHandler {
  constructor(
    private readonly api: Pick<AttacherApi, 'patchVaStatus'>,
    private readonly logger: Logger,
    private readonly metrics: AttacherMetrics,
  ) {}

  async syncVolumeAttachment(va: VolumeAttachment): Promise<SyncResult> {
    if (va.status?.attached) return 'ok';
    const name = va.metadata?.name ?? '';
    try {
      await this.api.patchVaStatus(name, attachedStatusPatch(undefined));
    } catch (err) {
      this.logger.error('Error saving VolumeAttachment as attached', err, { VolumeAttachment: name });
      return 'retry';
    }
    this.logger.v(2).info('Marked VolumeAttachment as attached', { VolumeAttachment: name });
    this.metrics.observeCompleted('attach', va.metadata?.creationTimestamp);
    return 'ok';
  }

  async syncPersistentVolume(_pv: PersistentVolume): Promise<SyncResult> {
    return 'ok';
  }
}
