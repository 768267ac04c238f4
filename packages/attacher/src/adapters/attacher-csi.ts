// The attacher's CSI calls: publish, unpublish (each with --timeout) and the paged ListVolumes of
// the reconciler, whose pages together must finish within one --timeout.

import type { Clock, ControllerClient, ControllerPublishVolumeRequest, ControllerUnpublishVolumeRequest } from '@csi-sidecars-ts/shared';
import { CsiCallError, GrpcCode } from '@csi-sidecars-ts/shared';

export interface CallOptions {
  /** The `migrated` metrics label. */
  migrated?: boolean;
}

export interface AttacherCsi {
  /** ControllerPublishVolume; resolves to the publish context. */
  publish(request: ControllerPublishVolumeRequest, opts?: CallOptions): Promise<Record<string, string>>;
  unpublish(request: ControllerUnpublishVolumeRequest, opts?: CallOptions): Promise<void>;
  /** volume_id → published_node_ids over every ListVolumes page. */
  listPublishedNodes(): Promise<Map<string, string[]>>;
}

export interface CsiAttacherOptions {
  controller: ControllerClient;
  /** --timeout */
  timeoutMs: number;
  /** --max-entries; 0 = let the driver choose. */
  maxEntries: number;
  clock: Clock;
}

const LIST_VOLUMES_METHOD = '/csi.v1.Controller/ListVolumes';

export class CsiAttacher implements AttacherCsi {
  readonly #o: CsiAttacherOptions;

  constructor(options: CsiAttacherOptions) {
    this.#o = options;
  }

  async publish(request: ControllerPublishVolumeRequest, opts: CallOptions = {}): Promise<Record<string, string>> {
    const response = await this.#o.controller.controllerPublishVolume(request, { timeoutMs: this.#o.timeoutMs, migrated: opts.migrated ?? false });
    return { ...(response.publish_context ?? {}) };
  }

  async unpublish(request: ControllerUnpublishVolumeRequest, opts: CallOptions = {}): Promise<void> {
    await this.#o.controller.controllerUnpublishVolume(request, { timeoutMs: this.#o.timeoutMs, migrated: opts.migrated ?? false });
  }

  async listPublishedNodes(): Promise<Map<string, string[]>> {
    const { clock, timeoutMs, maxEntries } = this.#o;
    const deadline = clock.now() + timeoutMs;
    const published = new Map<string, string[]>();
    const seenTokens = new Set<string>();
    let token = '';
    for (;;) {
      const left = deadline - clock.now();
      if (left <= 0) {
        throw new CsiCallError(LIST_VOLUMES_METHOD, GrpcCode.DeadlineExceeded, `listing volumes took longer than --timeout (${timeoutMs} ms)`);
      }
      let response;
      try {
        response = await this.#o.controller.listVolumes({ starting_token: token, max_entries: maxEntries }, { timeoutMs: left });
      } catch (err) {
        throw new Error(`failed to list volumes: ${(err as Error).message}`, { cause: err });
      }
      for (const entry of response.entries) {
        if (!entry.volume || !entry.status) continue;
        published.set(entry.volume.volume_id, [...entry.status.published_node_ids]);
      }
      token = response.next_token;
      if (!token) return published;
      // A driver that hands out the same token twice would keep us paging until the deadline.
      if (seenTokens.has(token)) throw new Error(`failed to list volumes: the driver returned next_token ${JSON.stringify(token)} twice`);
      seenTokens.add(token);
    }
  }
}
